/* minivmm's version, for --version and the SMBIOS BIOS table of a direct
 * boot (a build may set MINIVMM_VERSION) */
#ifndef MINIVMM_CORE_VERSION_H
#define MINIVMM_CORE_VERSION_H

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0.1.0"
#endif
#define MINIVMM_RELEASE_DATE "12/05/2026"	/* MM/DD/YYYY, as SMBIOS writes it */

#endif
