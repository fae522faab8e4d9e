# SPDX-License-Identifier: GPL-2.0
# tap.sh - sourced by the shell selftests: TAP lines and their count.
#   ok NAME, nok NAME        one result ($n counts them, $failed the nots)
#   t NAME CMD...            ok if CMD succeeds, else nok
#   diag FILE...             the files as "# " lines
#   sum FILE                 its SHA-256
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"; }
t() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
diag() { sed 's/^/# /' "$@"; }
sum() { sha256sum <"$1" | cut -d' ' -f1; }
