export const USAGE = `fabricore — the FabriCore command line (it speaks the Core's HTTP API)

usage: fabricore <command> [flags]

commands:
  login URL --token T           save the Core's URL and an API token (~/.config/fabricore/config.json, 0600)
  nodes [--selector S]          the Nodes, online or not
  jobs                          the jobs
  jobs apply -f PATH [--prune]  create or update jobs by name from YAML files (several documents per file,
           [--dry-run]          or a directory; -f - reads stdin); reports created / updated / unchanged
                                per job; --prune deletes jobs no file names
  jobs export [NAME]            the jobs (or one) as the YAML that jobs apply reads
  run JOB [--input JSON]        start a run; --follow prints its transcript live and exits 0 when it
          [--follow]            succeeded, 1 when it failed or was cancelled
  runs [--job NAME]             recent runs (--status S, --limit N)
  approve RUN                   let the tool call a run waits on go ahead
  deny RUN [--reason TEXT]      refuse it (the model is told the reason)
  cancel RUN                    stop a run (and a fan-out run's children)
  completion bash|zsh           shell completion: source <(fabricore completion bash)

flags for every command:
  --url URL       the Core (else FABRICORE_URL, else the saved login)
  --token T       an API token (else FABRICORE_TOKEN, else the saved login)
  --json          print the API's JSON instead of a table (--follow: one event per line)
  --color, --no-color   colours are on only on a terminal, and off with NO_COLOR

exit status: 0 done, 1 the API refused or a followed run did not succeed, 2 wrong usage.
`;
