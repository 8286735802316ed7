"""How busy the machine was while a timed run ran, so a slow figure can be told from a noisy neighbour.

Recorded per timed run: the 1-minute load average at start and end, the CPU time other processes used
during the run (in cores, from /proc/stat minus the CPU time of this process and its child processes) and the share of time the
hypervisor stole (the ``steal`` column of /proc/stat). A run is marked busy when other processes used at
least half a core or steal exceeded 5% over a window of at least a second: both inflate latency without any
change in the method.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

BUSY_OTHER_CORES = 0.5
BUSY_STEAL = 0.05
# /proc/stat counts in 10 ms ticks: over a shorter window one tick of a neighbour reads as "half a core".
MIN_JUDGED_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    wall: float
    load1: float | None
    cpu_busy: int | None   # jiffies of all CPUs not idle/iowait/steal
    cpu_steal: int | None
    cpu_total: int | None
    own_cpu_seconds: float


def snapshot() -> Snapshot:
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = None
    busy = steal = total = None
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
        idle, iowait = fields[3], fields[4]
        steal = fields[7] if len(fields) > 7 else 0
        total = sum(fields[:8])
        busy = total - idle - iowait - steal
    except (OSError, ValueError, IndexError):
        pass
    return Snapshot(time.monotonic(), load1, busy, steal, total, own_cpu_seconds())


def own_cpu_seconds() -> float:
    """CPU seconds of this process, its finished children and its live descendants.

    Live child processes are part of the measurement, not neighbours: the process workers of `bench load`
    (Lucene, bm25s and TF-IDF are served by one process per core) and the two sides of `bench check --against`.
    ``os.times`` counts a child only once it has exited and been waited for, so without the walk below a load
    step with two busy process workers read as "other processes used 2 cores: busy" on an idle machine."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system + _live_descendants_cpu()


def _live_descendants_cpu() -> float:
    """utime + stime of every live descendant, from /proc (0.0 where /proc cannot be read)."""
    parents, cpu = {}, {}
    try:
        names = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return 0.0
    for name in names:
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after "pid (comm)": state ppid ... utime (14th field overall) stime (15th)
        parents[int(name)] = int(fields[1])
        cpu[int(name)] = int(fields[11]) + int(fields[12])
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in mine}
        mine |= frontier
    return sum(cpu[pid] for pid in mine) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class LoadRecord:
    load1_start: float | None
    load1_end: float | None
    other_cores: float | None    # average cores used by other processes during the run
    steal_fraction: float | None
    busy: bool
    seconds: float = 0.0         # length of the window; shorter than MIN_JUDGED_SECONDS is never judged busy

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        parts = []
        if self.other_cores is not None:
            parts.append(f"other processes used {self.other_cores:.2f} cores")
        if self.steal_fraction is not None:
            parts.append(f"steal {self.steal_fraction:.0%}")
        if self.load1_start is not None:
            parts.append(f"load {self.load1_start:.2f} -> {self.load1_end:.2f}")
        return ", ".join(parts)


def between(start: Snapshot, end: Snapshot) -> LoadRecord:
    wall = max(end.wall - start.wall, 1e-9)
    other = steal = None
    if start.cpu_busy is not None and end.cpu_busy is not None:
        ticks = os.sysconf("SC_CLK_TCK")
        busy_seconds = (end.cpu_busy - start.cpu_busy) / ticks
        other = max(0.0, busy_seconds - (end.own_cpu_seconds - start.own_cpu_seconds)) / wall
        total = end.cpu_total - start.cpu_total
        steal = (end.cpu_steal - start.cpu_steal) / total if total > 0 else 0.0
    busy = wall >= MIN_JUDGED_SECONDS and (
        (other is not None and other >= BUSY_OTHER_CORES) or (steal is not None and steal >= BUSY_STEAL))
    return LoadRecord(start.load1, end.load1, other, steal, busy, wall)
