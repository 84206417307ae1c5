
# Names, drivers, modes and interfaces come from cnet itself (`cnet __complete KIND`); the rest
# from the clap-generated _cnet_clap above.
_cnet_value_opts=" @VALUE_OPTS@ "

# The kinds of candidates for the positional argument under the cursor, if it is one cnet knows.
_cnet_positional_kinds() {
    local i word skip=0
    local -a words=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if ((skip)); then
            skip=0
        elif [[ $word == -* ]]; then
            [[ $_cnet_value_opts == *" $word "* ]] && skip=1
        else
            words+=("$word")
        fi
    done
    local n=${#words[@]}
    case "${words[0]}" in
        attach) ((n == 1)) && echo "networks namespaces"; ((n == 2)) && echo namespaces ;;
        detach) ((n == 1)) && echo networks; ((n == 2)) && echo namespaces ;;
        exec-in-ns) ((n == 1)) && echo namespaces ;;
        net)
            case "${words[1]}" in
                rm | remove | inspect) ((n >= 2)) && echo networks ;;
                peer) ((n == 3)) && echo networks ;;
            esac
            ;;
        lease) [[ ${words[1]} == ls || ${words[1]} == list ]] && ((n == 2)) && echo networks ;;
        ns) [[ ${words[1]} == rm || ${words[1]} == remove ]] && ((n >= 2)) && echo namespaces ;;
    esac
}

_cnet() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD - 1]}"
    local kinds="" kind candidates=""
    case "$prev" in
        -d | --driver) kinds=drivers ;;
        --mode) kinds=modes ;;
        --parent | --underlay) kinds=parents ;;
    esac
    if [[ -z $kinds && $cur != -* && $_cnet_value_opts != *" $prev "* ]]; then
        kinds=$(_cnet_positional_kinds)
    fi
    if [[ -z $kinds ]]; then
        _cnet_clap "$@"
        return
    fi
    for kind in $kinds; do
        candidates+=" $("${COMP_WORDS[0]}" __complete "$kind" 2>/dev/null)"
    done
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _cnet -o nosort -o bashdefault -o default cnet
else
    complete -F _cnet -o bashdefault -o default cnet
fi
