# TAP for the shell integration tests: source it, call ok STATUS NAME [DIAG]
# for each case and tap_done at the end (prints the plan and the summary,
# returns non-zero when a case failed).
N=0 FAILED=0
ok() { # ok STATUS NAME [DIAG]: STATUS 0 passes
	N=$((N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $N - $2"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $N - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | tail -15 | sed 's/^/#   /'
	fi
}
tap_done() {
	echo "1..$N"
	echo "# $((N - FAILED)) passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}
