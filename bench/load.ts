/**
 * What else the machine did while a client ran, from Linux's /proc: the broker JVM's CPU time and
 * how busy all cores were. The broker shares the cores with the client, so these tell a client
 * held back by the broker (or by a saturated machine) from one held back by itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * A run's window: the broker's CPU µs, and of them those in the kernel (both undefined without a
 * broker pid, i.e. an external broker), and the share of all cores busy, 0–1.
 */
export interface WindowLoad {
  brokerCpuUs?: number;
  /**
   * The kernel's share of brokerCpuUs. On a VM whose host takes back the memory the guest frees
   * (free page reporting), the broker's writes into fresh page-cache pages cost many times more
   * here, and that is not the client's doing (bench/README.md, "(in the kernel)").
   */
  brokerSystemCpuUs?: number;
  machineBusy?: number;
}

interface Sample {
  brokerTicks: number;
  brokerSystemTicks: number;
  busyTicks: number;
  totalTicks: number;
}

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of /proc's CPU times: 100 nearly everywhere, but asked once rather than assumed. */
function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ticksPerSecond;
}

/** utime + stime, and stime alone, of the processes (all their threads), in clock ticks; a process that is gone adds 0. */
function processTicks(pids: readonly number[]): { all: number; system: number } {
  let all = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state): the name may hold spaces
      all += Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
      system += Number(fields[12]);
    } catch {
      // gone
    }
  }
  return { all, system };
}

/** All cores' clock ticks from /proc/stat's "cpu" line: in all, and busy (neither idle nor waiting for I/O). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // user nice system idle iowait irq softirq steal; guest and guest_nice follow, but are already counted in user and nice.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
}

function sample(brokerPids: readonly number[]): Sample {
  const machine = machineTicks();
  const broker = processTicks(brokerPids);
  return { brokerTicks: broker.all, brokerSystemTicks: broker.system, busyTicks: machine.busy, totalTicks: machine.total };
}

/**
 * Measures from now, or from the last restart(), until stop(). A clock tick is 10 ms (at the
 * usual 100 per second): a run of 2 s is measured to about 1%, a quick run's less closely.
 */
export function startLoadWindow(brokerPids: readonly number[]): { restart(): void; stop(): WindowLoad } {
  let start = sample(brokerPids);
  return {
    restart() {
      start = sample(brokerPids);
    },
    stop() {
      const end = sample(brokerPids);
      const brokerTicks = end.brokerTicks - start.brokerTicks;
      const brokerSystemTicks = end.brokerSystemTicks - start.brokerSystemTicks;
      const totalTicks = end.totalTicks - start.totalTicks;
      // A broker that died in the window would show less than it used: no figure then.
      const measured = brokerPids.length > 0 && brokerTicks >= 0 && brokerSystemTicks >= 0;
      return {
        brokerCpuUs: measured ? (brokerTicks * 1e6) / clockTicksPerSecond() : undefined,
        brokerSystemCpuUs: measured ? (brokerSystemTicks * 1e6) / clockTicksPerSecond() : undefined,
        machineBusy: totalTicks > 0 ? (end.busyTicks - start.busyTicks) / totalTicks : undefined,
      };
    },
  };
}
