/** What `fabricore-node --help` prints; env.ts parses the same options (keep the two in step). */
export const HELP_TEXT = `fabricore-node — connects this server to a FabriCore Core (it dials out; it never listens)

Usage: fabricore-node --core URL --token T [options]

  --core URL            the Core's http(s)://host:port; repeatable:     FABRICORE_CORE_URL (','-separated)
                        Core replicas to fail over between
  --token T             the node's enrollment token (fcn_…)             FABRICORE_NODE_TOKEN
  --read-root DIR       read_file may read below DIR (repeatable);      FABRICORE_READ_ROOTS (':'-separated)
                        none given: read_file refuses
  --allow-exec          offer exec_command: one program with its        FABRICORE_ALLOW_EXEC=1
                        arguments, run without a shell
  --allow-shell         ... and run commands through /bin/sh (pipes,    FABRICORE_ALLOW_SHELL=1
                        ;, $( ), redirections); implies --allow-exec,
                        cannot be combined with --exec-allow
  --docker-socket PATH  Docker for managed MCP servers                  DOCKER_HOST (default /var/run/docker.sock)
  --data-dir DIR        local state (default ~/.fabricore-node,         FABRICORE_NODE_DATA_DIR
                        /var/lib/fabricore-node as root)
  --log-level LEVEL     debug, info, warn, error, silent (default info) FABRICORE_LOG_LEVEL
  --ca FILE             trust this CA (PEM) for the Core's certificate  FABRICORE_CA_FILE
  --insecure            allow plain http:// to a Core not on loopback   FABRICORE_INSECURE=1
  --mount-root DIR      MCP containers may mount below DIR, read-only   FABRICORE_MOUNT_ROOTS (':'-separated)
                        (repeatable); none given: no mounts
  --mount-rw-root DIR   ... and writable below DIR (repeatable)         FABRICORE_MOUNT_RW_ROOTS (':'-separated)
  --allow-image RULE    MCP images limited to these: name[:tag],        FABRICORE_ALLOW_IMAGES (','-separated)
                        '*' a whole name component ('mcp/*') or in
                        the tag (repeatable); none given: any image
  --exec-allow REGEX    exec_command runs only commands matching one    FABRICORE_EXEC_ALLOW (newline-separated)
                        of these in full (repeatable); options must be
                        written out, no .. in paths (docs/SECURITY.md)
  --allow-root-containers  MCP containers may run as uid/gid 0        FABRICORE_ALLOW_ROOT_CONTAINERS=1
  --max-container-memory SIZE  refuse MCP containers asking for more      FABRICORE_MAX_CONTAINER_MEMORY
                        (e.g. 512m, 2g; default 2g)
  --max-container-cpus N  ... more CPUs (default 2)                     FABRICORE_MAX_CONTAINER_CPUS
  --max-container-pids N  ... more processes (default 512)              FABRICORE_MAX_CONTAINER_PIDS
  --allow-open-network  MCP containers may get network "open" (every    FABRICORE_ALLOW_OPEN_NETWORK=1
                        host); otherwise only egress allow lists
  --allow-egress RULE   egress rules a server may be allowed, e.g.      FABRICORE_ALLOW_EGRESS (','-separated)
                        '*.example.com:443', '10.0.0.0/8:5432'
                        (repeatable); none given: any name, no
                        private/loopback/link-local IP rules
  --egress-dns IP[:PORT]  DNS server the egress proxy resolves with     FABRICORE_EGRESS_DNS
                        (default: this host's resolver)
  --auto-update         replace this executable with the Node version    FABRICORE_AUTO_UPDATE=1
                        the Core serves (signed by the release key
                        pinned at enrollment); rolled back if the new
                        one does not connect in time
  --update-deadline S   seconds a new version has to connect (120)      FABRICORE_UPDATE_DEADLINE
  --version             print the version and exit
  --help                print this help and exit
`;
