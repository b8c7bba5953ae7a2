"""A real single-node SLURM on localhost (munged, slurmctld, slurmd) for tests and benchmarks.

Everything it writes lives in a temporary folder (daemons take `-f`, clients read $SLURM_CONF),
except one file: `srun` inside a job cannot see $SLURM_CONF (the SLURM executor's job step strips
SLURM_* variables), so it reads /etc/slurm/slurm.conf. That file is written only where none
exists, marked as ours, and removed on stop. The node has fake GPUs (a gres whose device file
is an empty file), so jobs that ask for `--gpus=1` are scheduled as on a GPU cluster.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import yaml

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
TOOLS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "srun", "sinfo"]
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by scalinglaws tests/slurm_cluster.py; removed when its cluster stops"
LOCK_FILE = Path("/tmp/scalinglaws-slurm-cluster.lock")  # one test cluster per machine at a time
PARTITION = "debug"


def _sudo() -> list[str] | None:
    """[] as root, ["sudo", "-n"] with passwordless sudo, None where neither works."""
    if os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return ["sudo", "-n"]
    return None


def install() -> str | None:
    """Install Debian's SLURM and munge where missing; return why not, or None when ready."""
    if all(shutil.which(t) for t in TOOLS):
        return None
    sudo = _sudo()
    if not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    if sudo is None:
        return "SLURM is not installed and installing it needs root or passwordless sudo"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
    ):
        proc = subprocess.run(sudo + cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            return f"could not install SLURM ({' '.join(cmd[:2])} failed): {proc.stderr.strip()[-300:]}"
    missing = [t for t in TOOLS if not shutil.which(t)]
    return f"SLURM installed but {missing} not found on PATH" if missing else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 512
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """Start with `start()` (or as a context manager); clients need `env` (it sets SLURM_CONF)."""

    def __init__(self, root: Path, cpus: int | None = None, gpus: int | None = None):
        self.root = Path(root)
        self.cpus = cpus or os.cpu_count() or 1
        self.gpus = gpus or self.cpus  # as many fake GPUs as CPUs: GPU jobs can run side by side
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.jobcomp = self.root / "jobcomp.txt"  # one line per finished job (no accounting database)
        self.ctld_log = self.root / "slurmctld.log"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []
        self._lock = None
        self._wrote_system_conf = False
        self.sudo = _sudo()  # the daemons run as root: [] as root, else passwordless sudo

    # -- configuration ------------------------------------------------------------------------
    def _write_config(self) -> None:
        r = self.root
        for d in ("munge", "state", "spool"):
            (r / d).mkdir(parents=True, exist_ok=True)
        os.chmod(r / "munge", 0o755)  # clients of every user reach munged's socket
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self.conf.write_text(
            f"""{MARKER}
ClusterName=scalinglaws-test
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.socket.2
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={self.ctld_log}
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=2
InactiveLimit=0
SchedulerParameters=sched_interval=1
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_node_memory_mb()} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        )
        # Fake GPUs: empty files named like device nodes (slurm takes the index from the name);
        # slurmd logs that they are not devices, then schedules them like GPUs all the same.
        for i in range(self.gpus):
            (r / f"nvidia{i}").touch()
        (r / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File={r}/nvidia[0-{self.gpus - 1}]\n")

    def _write_system_conf(self) -> None:
        if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARKER):
            raise RuntimeError(f"{SYSTEM_CONF} exists and is not ours (a real cluster?); not touching it")
        subprocess.run(self.sudo + ["mkdir", "-p", str(SYSTEM_CONF.parent)], check=True)
        subprocess.run(self.sudo + ["cp", str(self.conf), str(SYSTEM_CONF)], check=True)
        self._wrote_system_conf = True

    # -- life cycle ---------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / f"{name}.out", "wb")  # noqa: SIM115 (open while the daemon runs)
        self._logs.append(log)
        self.procs[name] = subprocess.Popen(
            self.sudo + cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )

    def start(self, timeout: float = 60) -> SlurmCluster:
        if self.sudo is None:
            raise RuntimeError("starting SLURM's daemons needs root or passwordless sudo")
        self._lock = open(LOCK_FILE, "w")  # noqa: SIM115 (held while the cluster runs)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._write_config()
            self._write_system_conf()
            m = self.root / "munge"
            self._spawn(
                "munged",
                [
                    "munged",
                    "--foreground",
                    "--force",
                    f"--key-file={m}/munge.key",
                    f"--socket={m}/munge.socket.2",
                    f"--pid-file={m}/munged.pid",
                    f"--log-file={m}/munged.log",
                    f"--seed-file={m}/munged.seed",
                ],
            )
            self._wait(lambda: (m / "munge.socket.2").exists(), timeout, "munged socket")
            self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
            self._wait(lambda: self.node_state() == "idle", timeout, "node idle")
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.root.glob("*.out")))
                raise RuntimeError(f"SLURM test cluster: no {what} (exited: {dead})\n{logs}")
            time.sleep(0.2)

    def node_state(self) -> str:
        proc = self.run("sinfo", "-h", "-N", "-o", "%t", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def stop(self) -> None:
        """Cancel what still runs, then stop every daemon started here, by PID."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--user", getpass.getuser(), check=False)
            deadline = time.monotonic() + 15
            while self.jobs() and time.monotonic() < deadline:
                time.sleep(0.3)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait()
        if self._wrote_system_conf and SYSTEM_CONF.exists() and SYSTEM_CONF.read_text().startswith(MARKER):
            subprocess.run(self.sudo + ["rm", "-f", str(SYSTEM_CONF)], check=False)
            self._wrote_system_conf = False
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _signal(self, proc: subprocess.Popen, sig: signal.Signals) -> None:
        """Signal a daemon we started, by its PID (under sudo: sudo's PID; sudo relays the signal)."""
        if self.sudo:
            subprocess.run(self.sudo + ["kill", f"-{sig.value}", str(proc.pid)], check=False)
        else:
            os.kill(proc.pid, sig)

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- queries ------------------------------------------------------------------------------
    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), capture_output=True, text=True, env=self.env, check=check, timeout=30)

    def jobs(self, states: str = "PENDING,RUNNING,CONFIGURING,COMPLETING") -> list[dict]:
        """Jobs squeue still lists in `states`: id, state and comment (the SLURM executor puts the rule there)."""
        out = self.run("squeue", "-h", "-t", states, "-o", "%i|%T|%k", check=False).stdout
        return [dict(zip(("id", "state", "comment"), line.split("|", 2))) for line in out.splitlines() if line]

    def submissions(self) -> list[str]:
        """Job ids slurmctld accepted so far (from its log): every sbatch, whether it ran or not."""
        if not self.ctld_log.exists():
            return []
        marker = "_slurm_rpc_submit_batch_job: JobId="
        return [
            line.split(marker, 1)[1].split()[0] for line in self.ctld_log.read_text().splitlines() if marker in line
        ]


def fit_profile(path: Path, train: dict | None = None, batching: str = "groups") -> None:
    """Fit a copy of profiles/slurm/config.yaml to this 2-CPU test node; the rest stays as shipped.

    Status checks start after 1 s rather than 20 s (jobs here take seconds), memory requests fit
    the node, and batches are sized so that 2 CPUs share the tiny study evenly (2 data groups,
    2 training groups of 5). `train` replaces training resources (a None value removes one).
    `batching`: "groups" as shipped, "none" submits every job on its own, "array" submits the
    ensemble jobs as one SLURM job array instead of groups.
    """
    profile = yaml.safe_load(Path(path).read_text())
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["seconds-between-status-checks"] = 1
    profile["default-resources"]["mem_mb"] = 1000
    profile["set-resources"]["train"]["mem_mb"] = 1000
    profile["group-components"].update(data=3, train_batch=5)
    for key, value in (train or {}).items():
        profile["set-resources"]["train"].pop(key, None)
        if value is not None:
            profile["set-resources"]["train"][key] = value
    if batching == "none":
        for key in ("groups", "group-components", "resources", "set-resource-scopes"):
            profile.pop(key)
    elif batching == "array":
        del profile["groups"]["train"]
        profile["slurm-array-jobs"] = "train"
    Path(path).write_text(yaml.safe_dump(profile, sort_keys=False))
