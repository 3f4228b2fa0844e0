import { COMMANDS, GLOBAL_OPTIONS, type OptionSpec } from "./args.ts";

/** `fabricore completion bash|zsh`: scripts to source (`source <(fabricore completion bash)`).
 * Static words only — completing job names would call the Core on every Tab. */
/** The words and flags come from the parser's own tables, so completion cannot drift from it. */
const flagsOf = (options: Record<string, OptionSpec>) =>
  Object.entries(options)
    .flatMap(([name, spec]) => [...(spec.short ? [`-${spec.short}`] : []), `--${name}`])
    .join(" ");
const COMMAND_WORDS = [...new Set(Object.keys(COMMANDS).map((key) => key.split(" ")[0]!)), "help", "version"].join(" ");
const GLOBAL = flagsOf(GLOBAL_OPTIONS);
const FLAGS: Record<string, string> = Object.fromEntries(
  Object.entries(COMMANDS).map(([key, spec]) => [key, flagsOf(spec.options)]),
);

export function completionScript(shell: "bash" | "zsh"): string {
  return shell === "bash" ? bash() : zsh();
}

function bash(): string {
  const cases = Object.entries(FLAGS)
    .map(([command, flags]) => `    "${command}") flags="${flags} ${GLOBAL}" ;;`)
    .join("\n");
  return `# fabricore bash completion: source <(fabricore completion bash)
_fabricore() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) if [ -z "$cmd" ]; then cmd="\${COMP_WORDS[i]}"; elif [ "$cmd" = jobs ]; then cmd="jobs \${COMP_WORDS[i]}"; break; fi ;;
    esac
  done
  case "$prev" in
    -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
    --status) COMPREPLY=($(compgen -W "queued running waiting_approval succeeded failed cancelled skipped" -- "$cur")); return ;;
  esac
  if [ -z "$cmd" ]; then COMPREPLY=($(compgen -W "${COMMAND_WORDS} ${GLOBAL}" -- "$cur")); return; fi
  if [ "$cmd" = jobs ] && [[ "$cur" != -* ]]; then COMPREPLY=($(compgen -W "apply export" -- "$cur")); return; fi
  local flags="${GLOBAL}"
  case "$cmd" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -F _fabricore fabricore
`;
}

function zsh(): string {
  const cases = Object.entries(FLAGS)
    .map(([command, flags]) => `    "${command}") flags=(${flags} ${GLOBAL}) ;;`)
    .join("\n");
  return `#compdef fabricore
# fabricore zsh completion: source <(fabricore completion zsh), or save as _fabricore in $fpath
_fabricore() {
  local -a words_ flags
  local cmd="" w
  for w in \${words[2,CURRENT-1]}; do
    [[ $w == -* ]] && continue
    if [[ -z $cmd ]]; then cmd=$w; elif [[ $cmd == jobs ]]; then cmd="jobs $w"; break; fi
  done
  case \${words[CURRENT-1]} in
    -f|--file) _files; return ;;
    completion) compadd bash zsh; return ;;
    --status) compadd queued running waiting_approval succeeded failed cancelled skipped; return ;;
  esac
  if [[ -z $cmd ]]; then compadd ${COMMAND_WORDS} ${GLOBAL}; return; fi
  if [[ $cmd == jobs && \${words[CURRENT]} != -* ]]; then compadd apply export; return; fi
  flags=(${GLOBAL})
  case $cmd in
${cases}
  esac
  compadd -- $flags
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _fabricore "$@"; else compdef _fabricore fabricore; fi
`;
}
