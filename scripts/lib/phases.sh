# Timed phases for the project's commands (sourced by scripts/test and scripts/run).
#   phase NAME COMMAND...   runs COMMAND as one row of the table, keeping its exit status
#   phase_table LABEL       prints the rows and the total since this file was sourced
# A command sets `trap 'phase_table test' EXIT` to print the table also when a phase fails.
phases_began=$SECONDS
phase_rows=()

phase() {
    local name=$1 start=$SECONDS rc=0
    shift
    printf '[%s] %s\n' "${phase_label:-phase}" "$name" >&2
    "$@" || rc=$?
    phase_rows+=("$(printf '%-30s %6d s%s' "$name" $((SECONDS - start)) "$( ((rc)) && echo '   FAILED')")")
    return $rc
}

phase_table() {
    {
        printf '[%s] phases\n' "$1"
        ((${#phase_rows[@]})) && printf '  %s\n' "${phase_rows[@]}"
        printf '  %-30s %6d s\n' "total" $((SECONDS - phases_began))
    } >&2
}
