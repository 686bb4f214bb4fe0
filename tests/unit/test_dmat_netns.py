#!/usr/bin/python3
"""test_dmat_netns.py — two "hosts" on one machine: the ranks of a dmat cluster run in two
network namespaces joined by a veth pair and talk over Open MPI's TCP transport only
(`--mca btl tcp,self`, interfaces restricted to the veth subnet); mpirun runs in the first
namespace and starts the second host's daemon through a small rsh agent that enters the
other namespace (as ssh would log in to another machine). The C test
(test_dmat --two-hosts) then checks scatter/gather, AᵀA, the randomized SVD against the
single-process runtime and a rank's host and data on each side. Needs root and `ip netns`;
exits 77 (skipped) without them. Prints "N passed, N failed" (the C test's line)."""
import os
import shutil
import subprocess
import sys
import tempfile

NS_A, NS_B = "cairn-dmat-a%d" % os.getpid(), "cairn-dmat-b%d" % os.getpid()
IP_A, IP_B, NET = "10.231.7.1", "10.231.7.2", "10.231.7.0/24"


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def main():
    test = sys.argv[1]
    if os.getuid() != 0 or not shutil.which("ip") or not shutil.which("mpirun"):
        print("skipped: needs root, ip and mpirun")
        return 77
    tmp = tempfile.mkdtemp(prefix="cairn-netns-")
    veth_a, veth_b = "cdA%d" % (os.getpid() % 100000), "cdB%d" % (os.getpid() % 100000)
    try:
        try:
            sh("ip", "netns", "add", NS_A)
            sh("ip", "netns", "add", NS_B)
            sh("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
            sh("ip", "link", "set", veth_a, "netns", NS_A)
            sh("ip", "link", "set", veth_b, "netns", NS_B)
            for ns, dev, ip in ((NS_A, veth_a, IP_A), (NS_B, veth_b, IP_B)):
                sh("ip", "netns", "exec", ns, "ip", "addr", "add", ip + "/24", "dev", dev)
                sh("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
                sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        except subprocess.CalledProcessError as e:
            print("skipped: cannot make network namespaces here: %s" % (e.stderr or e).strip())
            return 77
        print("veth %s (%s) <-> %s (%s)" % (NS_A, IP_A, NS_B, IP_B))
        agent = os.path.join(tmp, "rsh-agent")
        with open(agent, "w") as f:
            # Called as `agent [options] HOST COMMAND...` like ssh: enter HOST's namespace.
            f.write("#!/bin/sh\n"
                    "while [ $# -gt 0 ]; do case \"$1\" in -*) shift;; *) break;; esac; done\n"
                    "host=$1; shift\n"
                    "case \"$host\" in %s) ns=%s;; %s) ns=%s;; *) echo \"unknown host $host\" >&2; exit 255;; esac\n"
                    "exec ip netns exec \"$ns\" /bin/sh -c \"$*\"\n" % (IP_A, NS_A, IP_B, NS_B))
        wrapper = os.path.join(tmp, "mpirun-in-a")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s mpirun \"$@\"\n" % NS_A)
        os.chmod(agent, 0o755)
        os.chmod(wrapper, 0o755)
        opts = ("--host %s:1,%s:1 --mca plm_rsh_agent %s --mca btl tcp,self --mca btl_tcp_if_include %s "
                "--mca oob_tcp_if_include %s" % (IP_A, IP_B, agent, NET, NET))
        env = dict(os.environ, CAIRN_MPIRUN=wrapper)
        r = subprocess.run([test, "--two-hosts", opts], env=env, timeout=240)
        return r.returncode
    finally:
        sh("ip", "netns", "del", NS_A, check=False)
        sh("ip", "netns", "del", NS_B, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
