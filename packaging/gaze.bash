# bash completion for gaze. Commands, each command's flags and the choices a flag lists
# ("--kind heatmap|model|head|bars") are read from the binary's own help texts, so they follow
# it; files after -o; the fetchable model names (gaze fetch --list) where a model can go.
# Installed as share/bash-completion/completions/gaze; `source` it to try it out.

declare -gA _gaze_help_cache 2>/dev/null || true

# The help text of "gaze [CMD]", once per shell (usage may go to stderr with exit 2).
_gaze_help() {
    local bin=$1 cmd=$2 key="$1 $2"
    if [[ -z ${_gaze_help_cache[$key]+set} ]]; then
        if [[ -n $cmd ]]; then
            _gaze_help_cache[$key]=$("$bin" "$cmd" --help 2>&1)
        else
            _gaze_help_cache[$key]=$("$bin" --help 2>&1)
        fi
    fi
    printf '%s\n' "${_gaze_help_cache[$key]}"
}

_gaze_commands() {
    _gaze_help "$1" "" | awk '/^[Cc]ommands:/ { on = 1; next } on && /^  +[a-z][a-z0-9-]* / { print $1 }'
}

_gaze_models() {
    local names
    names=$("$1" fetch --list 2>/dev/null | awk '{ print $1 }')
    printf '%s\n' "${names:-minilm smollm2}"
}

_gaze() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local bin=${COMP_WORDS[0]}
    [[ $bin == \~* ]] && bin=$HOME${bin#\~}
    command -v "$bin" >/dev/null 2>&1 || bin=gaze
    COMPREPLY=()

    if (( COMP_CWORD == 1 )); then
        COMPREPLY=($(compgen -W "$(_gaze_commands "$bin") --help --version" -- "$cur"))
        return
    fi
    local cmd=${COMP_WORDS[1]}
    local help
    help=$(_gaze_help "$bin" "$cmd")

    case $prev in
        -o|--output|--out|--diff)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
    esac
    if [[ $prev == -* ]]; then
        # choices the help lists for this flag: "--kind heatmap|model|head|bars" (lower-case
        # words only: "H|mean|max" offers mean and max)
        local choices
        choices=$(grep -oE -- "(^|[^a-z0-9-])$prev[ =][A-Za-z0-9_-]+(\|[A-Za-z0-9_-]+)+" <<<"$help" |
                  head -n 1 | sed -E "s/^.*$prev[ =]//" | tr '|' '\n' | grep -E '^[a-z0-9_-]+$')
        if [[ -n $choices ]]; then
            COMPREPLY=($(compgen -W "$choices" -- "$cur"))
            return
        fi
    fi
    if [[ $cur == -* ]]; then
        local flags
        flags=$(grep -oE -- '(^|[][ ,|(])--?[A-Za-z][A-Za-z0-9-]*' <<<"$help" | sed -E 's/^[^-]*//' | sort -u)
        COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
        return
    fi
    case $cmd in
        fetch) COMPREPLY=($(compgen -W "$(_gaze_models "$bin")" -- "$cur")) ;;
        help)  COMPREPLY=($(compgen -W "$(_gaze_commands "$bin")" -- "$cur")) ;;
        bench) (( COMP_CWORD == 2 )) && COMPREPLY=($(compgen -W "attention" -- "$cur")) ;;
        run|show|plot|view|heads|rollout|flow|diff|corpus|ablate|info)
            # a model name, a run file, a model folder or .gguf file, a text file (corpus)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -W "$(_gaze_models "$bin")" -- "$cur") $(compgen -f -- "$cur")) ;;
        *)  compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
}
complete -F _gaze gaze
