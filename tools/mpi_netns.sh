#!/bin/sh
# Two "hosts" on one machine for Open MPI over TCP: network namespaces
# lmt<TAG>a and lmt<TAG>b joined by a veth pair (10.77.<TAG>.1 and .2), and a
# plm_rsh_agent that starts the remote daemon with `ip netns exec` instead of
# ssh. Needs root (ip netns). TAG: 1..254.
#
#   tools/mpi_netns.sh up TAG              make the namespaces and the agent
#   tools/mpi_netns.sh run TAG -- CMD ...  mpirun -np 2 CMD, rank 0 in a, rank 1 in b
#   tools/mpi_netns.sh down TAG            remove them
#
# MPI_NETNS_MPIRUN_ARGS adds mpirun options (e.g. -x LMT_DIST_TIMEOUT).
set -eu
cmd=${1:?usage: mpi_netns.sh up|run|down TAG}
tag=${2:?usage: mpi_netns.sh up|run|down TAG}
a=lmt${tag}a
b=lmt${tag}b
ip_a=10.77.$tag.1
ip_b=10.77.$tag.2
dir=/tmp/lmt-netns-$tag
case "$cmd" in
up)
    ip netns add "$a"
    ip netns add "$b"
    ip link add "lmv${tag}a" type veth peer name "lmv${tag}b"
    ip link set "lmv${tag}a" netns "$a"
    ip link set "lmv${tag}b" netns "$b"
    ip -n "$a" addr add "$ip_a/24" dev "lmv${tag}a"
    ip -n "$b" addr add "$ip_b/24" dev "lmv${tag}b"
    for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
    ip -n "$a" link set "lmv${tag}a" up
    ip -n "$b" link set "lmv${tag}b" up
    mkdir -p "$dir"
    # Open MPI calls the agent as "AGENT HOST COMMAND...", as it would ssh
    cat >"$dir/agent.sh" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
$ip_a) ns=$a ;;
$ip_b) ns=$b ;;
*) echo "mpi_netns agent: unknown host \$host" >&2; exit 1 ;;
esac
echo "\$host -> \$ns" >>"$dir/agent.log"
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
    chmod +x "$dir/agent.sh"
    ;;
run)
    shift 2
    [ "${1:-}" = -- ] && shift
    # shellcheck disable=SC2086
    exec ip netns exec "$a" mpirun -np 2 --host "$ip_a:1,$ip_b:1" --bind-to none \
        --mca plm_rsh_agent "$dir/agent.sh" --mca btl tcp,self \
        --mca btl_tcp_if_include "10.77.$tag.0/24" --mca oob_tcp_if_include "10.77.$tag.0/24" \
        ${MPI_NETNS_MPIRUN_ARGS:-} "$@"
    ;;
down)
    # what still runs in them (a daemon cut off from its mpirun) goes first:
    # deleting a namespace does not end its processes
    for ns in "$a" "$b"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$dir"
    ;;
*) echo "mpi_netns.sh: unknown command $cmd (up, run, down)" >&2; exit 2 ;;
esac
