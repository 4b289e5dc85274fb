# Timed phases for the project's commands (sourced by scripts/test and scripts/run).
#   phase NAME COMMAND...        runs COMMAND as one row of the table, keeping its exit status
#   phase_start NAME COMMAND...  starts COMMAND in the background as a row of its own
#   phase_join NAME              waits for it; its exit status, and its row with its own time
#   phase_table LABEL            prints the rows and the total since this file was sourced
# A command sets an EXIT trap calling phase_table, to print the table also when a phase fails.
phases_began=$SECONDS
phase_rows=()
phase_dir=$(mktemp -d)
declare -A phase_pids=()

phase_row() {
    phase_rows+=("$(printf '%-36s %6d s%s' "$1" "$2" "$( (($3)) && echo '   FAILED')")")
}

phase() {
    local name=$1 start=$SECONDS rc=0
    shift
    printf '[%s] %s\n' "${phase_label:-phase}" "$name" >&2
    "$@" || rc=$?
    phase_row "$name" $((SECONDS - start)) $rc
    return $rc
}

phase_start() {
    local name=$1
    shift
    printf '[%s] %s (in the background)\n' "${phase_label:-phase}" "$name" >&2
    (
        start=$SECONDS rc=0
        "$@" || rc=$?
        echo "$((SECONDS - start))" >"$phase_dir/$BASHPID"
        exit $rc
    ) &
    phase_pids[$name]=$!
}

phase_join() {
    local name=$1 pid=${phase_pids[$1]} rc=0 seconds
    wait "$pid" || rc=$?
    seconds=$(cat "$phase_dir/$pid" 2>/dev/null || echo 0)
    phase_row "$name" "$seconds" $rc
    return $rc
}

phase_table() {
    {
        printf '[%s] phases\n' "$1"
        ((${#phase_rows[@]})) && printf '  %s\n' "${phase_rows[@]}"
        printf '  %-36s %6d s\n' "total" $((SECONDS - phases_began))
    } >&2
    rm -rf "$phase_dir"
}
