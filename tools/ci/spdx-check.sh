#!/bin/bash
# SPDX-License-Identifier: MIT
# Lists the tracked files that lack an "SPDX-License-Identifier: MIT" line at
# the top, and fails if there is any. The line is the first one, or the second
# after a "#!" line. Only tracked files of these kinds are looked at:
#   *.c *.h                          /* SPDX-License-Identifier: MIT */
#   shell scripts (*.sh, *.inc, or a #! line naming sh/bash/dash),
#   debian/rules, Makefile.am, conf/*.conf, the files in systemd/
#                                    # SPDX-License-Identifier: MIT
#   configure.ac                     dnl SPDX-License-Identifier: MIT
#   man pages (man/*.[1-9])          .\" SPDX-License-Identifier: MIT
# Fuzz corpora and other test data are left alone: their bytes are the test.
#   tools/ci/spdx-check.sh [DIR]     (DIR: a git work tree, default this one)
set -euo pipefail

top=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$top"

# wanted PATH: true if PATH is of a kind that carries the line.
wanted() {
	case $1 in
	*/corpus/*) return 1 ;;
	*.c | *.h | *.sh | *.inc) return 0 ;;
	Makefile.am | */Makefile.am | configure.ac | debian/rules) return 0 ;;
	conf/*.conf) return 0 ;;
	systemd/*.service | systemd/*.socket | systemd/*.timer | systemd/*.path | \
		systemd/*.sysusers | systemd/*.tmpfiles | systemd/*.rules | systemd/*.conf) return 0 ;;
	man/*.[1-9]) return 0 ;;
	esac
	# Scripts without a suffix (tools/check, .ci/run, maintainer scripts).
	head -n 1 -- "$1" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh([[:space:]]|$)'
}

checked=0
missing=()
while IFS= read -r -d '' f; do
	if [ ! -f "$f" ] || [ -L "$f" ]; then
		continue
	fi
	wanted "$f" || continue
	checked=$((checked + 1))
	first=$(head -n 1 -- "$f")
	line=$first
	case $first in '#!'*) line=$(sed -n 2p -- "$f") ;; esac
	if ! printf '%s\n' "$line" | grep -qE '^(/\* |# |dnl |\.\\" )SPDX-License-Identifier: MIT( \*/)?$'; then
		missing+=("$f")
	fi
done < <(git ls-files -z)

if [ ${#missing[@]} -gt 0 ]; then
	echo "spdx-check: ${#missing[@]} of $checked files have no SPDX-License-Identifier: MIT line at the top:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "spdx-check: $checked files carry SPDX-License-Identifier: MIT"
