# Shared by the Linux network tests (sourced after linux.bash): free
# loopback ports, a host HTTP server, and commands typed into the kit's
# shell whose answers come back as marked lines.

# net_free_port: a TCP port on 127.0.0.1 nothing listens on now
net_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# net_http_serve DIR PORT [ADDR]: serve DIR on ADDR:PORT (127.0.0.1, or
# 0.0.0.0 inside a test's own network namespace); sets HTTP_PID
net_http_serve() {
	python3 -m http.server --bind "${3:-127.0.0.1}" --directory "$1" "$2" >/dev/null 2>&1 &
	HTTP_PID=$!
	local n=0
	until curl -s -o /dev/null "http://127.0.0.1:$2/"; do
		n=$((n + 1))
		[ $n -lt 100 ] || return 1
		sleep 0.1
	done
}

# net_run OUT TAG SECONDS COMMAND: type COMMAND into the guest's shell
# followed by a line "TAG-END rc=N"; waits for it and returns N
net_run() {
	local out=$1 tag=$2 secs=$3
	linux_type "$4; echo $tag-END rc=\$?"
	linux_wait "$out" "^$tag-END rc=" "$secs" || return 1
	local rc
	rc=$(sed -n "s/^$tag-END rc=\\([0-9]*\\).*/\\1/p" "$out" | tr -d '\r' | tail -n 1)
	return "${rc:-1}"
}

# net_answer OUT KEY: the value of the guest's last "KEY value" line
net_answer() {
	tr -d '\r' <"$1" | sed -n "s/^$2 //p" | tail -n 1
}

# What the guest types to configure eth0 from DHCP (busybox udhcpc runs
# a script with the lease in its environment)
NET_DHCP_SCRIPT='printf "#!/bin/sh\ncase \$1 in bound|renew) ip addr add \$ip/\$mask dev \$interface; ip route add default via \$router;; esac\n" >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh'
