#!/usr/bin/env python3
"""Replays a membench request trace through LiteDRAM's controller RTL in migen's simulator.

    replay.py --board x64|x16 TRACE W [--request-bytes 64] [--limit N]

TRACE is what `emulate membench ... --trace-out FILE` writes (`0xOFFSET R|W` per line,
offsets from the start of DDR). W is the window: request i issues once request i - W is done,
as membench's closed-loop requester. Prints one JSON object: requests, bytes, cycles,
bytes_per_s, mean_read_latency_cycles / _ns (from the request's issue to its data) and
mean_read_port_latency_ns (from its first port command to its data).

What is simulated: LiteDRAMController (8 bank machines with 8-deep cmd_buffers, the
multiplexer with read_time 32 / write_time 16, the refresher) and a LiteDRAMCrossbar with one
native port, all LiteDRAM's own RTL at the pinned version, clocked at the 75 MHz system clock.
The PHY settings are those ECP5DDRPHY derives for CL 6 / CWL 5 at 1:2; the module timings
are the board file's. Nothing stands behind the DFI: the controller never waits on the PHY
(the crossbar times read data as read_latency + 1 system clocks after the bank machine's
column command, and write data as write_latency + 1), so the command stream and every
completion are the controller's alone. (SDRAMPHYModel, LiteDRAM's simulation PHY, is not
used: it keeps each bank's contents in a migen Memory, which the simulator turns into one
Signal per word, 16 M per bank for the 4 GiB board; its timing is the same fixed
read_latency, which the crossbar already accounts for.)
"""
import argparse, json, math, sys

from migen import Module, Signal, run_simulation
from litedram.common import PhySettings, get_sys_latency, get_sys_phase
from litedram.modules import DDR3Module, _TechnologyTimings, _SpeedgradeTimings
from litedram.core.controller import ControllerSettings, LiteDRAMController
from litedram.core.crossbar import LiteDRAMCrossbar

SYS_CLK = 75e6        # boards: clock 75 MHz (DRAM clock 150 MHz, ECP5DDRPHY 1:2)
CL, CWL = 6, 5        # boards: memory.timing.tCL / tCWL


class SailX64(DDR3Module):
    """boards/innerjib7ea.yaml: SO-DIMM of 8 x8 4 Gb devices, 8 KiB rows, the board's timings."""
    nbanks = 8
    nrows = 65536
    ncols = 1024
    # (clocks, ns): DDR3's floors in DRAM clocks, the board's figures in ns.
    technology_timings = _TechnologyTimings(tREFI=7800, tWTR=(4, 7.5), tCCD=(4, None),
                                            tRRD=(4, 6), tZQCS=(64, 80))
    speedgrade_timings = {"default": _SpeedgradeTimings(
        tRP=13.75, tRCD=13.75, tWR=15, tRFC=(None, 260), tFAW=(None, 30), tRAS=35)}


class SailX16(DDR3Module):
    """boards/innerjib7ea-x16.yaml: one x16 4 Gb device, 2 KiB rows."""
    nbanks = 8
    nrows = 32768
    ncols = 1024
    technology_timings = _TechnologyTimings(tREFI=7800, tWTR=(4, 7.5), tCCD=(4, None),
                                            tRRD=(4, 7.5), tZQCS=(64, 80))
    speedgrade_timings = {"default": _SpeedgradeTimings(
        tRP=13.75, tRCD=13.75, tWR=15, tRFC=(None, 260), tFAW=(None, 40), tRAS=35)}


BOARDS = {"x64": (SailX64, 64), "x16": (SailX16, 16)}


def ecp5_phy_settings(databits):
    """The PhySettings ECP5DDRPHY builds (litedram/phy/ecp5ddrphy.py) for CL/CWL at 2 phases."""
    nphases = 2
    cl_sys = get_sys_latency(nphases, CL)
    cwl_sys = get_sys_latency(nphases, CWL)
    return PhySettings(
        phytype="ECP5DDRPHY", memtype="DDR3", databits=databits,
        dfi_databits=4 * databits, nranks=1, nphases=nphases,
        rdphase=get_sys_phase(nphases, cl_sys, CL),
        wrphase=get_sys_phase(nphases, cwl_sys, CWL),
        cl=CL, cwl=CWL, read_latency=cl_sys + 10, write_latency=cwl_sys,
        read_leveling=True, bitslips=4, delays=8)


class Dut(Module):
    def __init__(self, board):
        module_cls, databits = BOARDS[board]
        self.module = module = module_cls(SYS_CLK, "1:2")
        self.phy_settings = phy = ecp5_phy_settings(databits)
        self.controller_settings = cs = ControllerSettings()
        self.submodules.controller = LiteDRAMController(
            phy_settings=phy, geom_settings=module.geom_settings,
            timing_settings=module.timing_settings, clk_freq=SYS_CLK,
            controller_settings=cs)
        self.submodules.crossbar = LiteDRAMCrossbar(self.controller.interface)
        self.port = self.crossbar.get_port()


def load_trace(path):
    out = []
    with open(path) as f:
        for line in f:
            a, rw = line.split()
            out.append((int(a, 16), rw == "W"))
    return out


# (RAS, CAS, WE) asserted (the DFI's are active low) -> DDR3 command.
CMDS = {(1, 0, 0): "ACT", (1, 0, 1): "PRE", (0, 1, 0): "RD", (0, 1, 1): "WR",
        (1, 1, 0): "REF"}


def replay(board, trace, window, request_bytes=64, commands=None):
    """`commands`: a list that gets every DFI command as (system clock, phase, kind, bank,
    address)."""
    dut = Dut(board)
    dfi = dut.controller.dfi
    port = dut.port
    word = port.data_width // 8              # one BL8 burst: 64 B (x64), 16 B (x16)
    parts = max(1, -(-request_bytes // word))
    n = len(trace)
    issue = [None] * n                       # cycle the request is issued (window allows it)
    first_cmd = [None] * n                   # cycle its first port command is presented
    done = [None] * n
    left = [parts] * n
    r = {}

    def gen():
        reads, writes = [], []               # accepted port commands waiting for data, in order
        rhead = whead = 0
        nxt, part, cycle, ndone, last = 0, 0, 0, 0, 0
        presented = False
        yield port.rdata.ready.eq(1)
        yield port.wdata.valid.eq(1)
        yield port.wdata.we.eq(2**(port.data_width // 8) - 1)
        while ndone < n:
            # What the controller shows in this cycle (its state and our last assignments).
            finished = []
            if (yield port.rdata.valid):
                finished.append(reads[rhead]); rhead += 1
            if (yield port.wdata.ready):
                finished.append(writes[whead]); whead += 1
            if presented and (yield port.cmd.ready):
                (writes if trace[nxt][1] else reads).append(nxt)
                part += 1
                if part == parts:
                    part, nxt = 0, nxt + 1
            for i in finished:
                left[i] -= 1
                if left[i] == 0:
                    done[i] = cycle
                    ndone += 1
                    last = cycle
            if commands is not None:
                for ph, p in enumerate(dfi.phases):
                    if not (yield p.cs_n):
                        k = CMDS.get((1 - (yield p.ras_n), 1 - (yield p.cas_n),
                                      1 - (yield p.we_n)))
                        if k:
                            commands.append((cycle, ph, k, (yield p.bank), (yield p.address)))
            # Requests the window lets go: request i issues in the clock request i - W is done
            # (and is presented on the port from the next clock on, as a registered requester
            # would).
            for i in range(nxt, min(n, nxt + window + 1)):
                if issue[i] is None:
                    if i < window:
                        issue[i] = 0
                    elif done[i - window] is not None:
                        issue[i] = done[i - window]
                    else:
                        break
            # What the requester presents in the next cycle.
            presented = nxt < n and issue[nxt] is not None and issue[nxt] <= cycle
            if presented:
                addr, we = trace[nxt]
                if first_cmd[nxt] is None:
                    first_cmd[nxt] = cycle + 1
                yield port.cmd.addr.eq(addr // word + part)
                yield port.cmd.we.eq(int(we))
            yield port.cmd.valid.eq(int(presented))
            yield
            cycle += 1
        r["cycles"] = last

    run_simulation(dut, gen())
    period_ns = 1e9 / SYS_CLK
    rd = [i for i in range(n) if not trace[i][1]]
    lat = sum(done[i] - issue[i] for i in rd) / len(rd) if rd else 0.0
    plat = sum(done[i] - first_cmd[i] for i in rd) / len(rd) if rd else 0.0
    secs = r["cycles"] * period_ns * 1e-9
    # Convergence: the first half of the requests, and the second half on its own (from the
    # first half's last completion to the end).
    h = n // 2
    t_half = max(done[:h])
    first = h * request_bytes / (t_half * period_ns * 1e-9)
    second = (n - h) * request_bytes / ((r["cycles"] - t_half) * period_ns * 1e-9)
    t = dut.module.timing_settings
    return {
        "requests": n, "bytes": n * request_bytes, "cycles": r["cycles"],
        "sys_clock_ns": period_ns,
        "bytes_per_s": n * request_bytes / secs,
        "bytes_per_s_first_half": first, "bytes_per_s_second_half": second,
        "mean_read_latency_cycles": lat, "mean_read_latency_ns": lat * period_ns,
        "mean_read_port_latency_ns": plat * period_ns,
        "timing_sys_clocks": {k: getattr(t, k) for k in
                              ["tRP", "tRCD", "tWR", "tWTR", "tREFI", "tRFC", "tFAW", "tCCD",
                               "tRRD", "tRC", "tRAS"]},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", choices=sorted(BOARDS), required=True)
    ap.add_argument("trace")
    ap.add_argument("window", type=int)
    ap.add_argument("--request-bytes", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0, help="replay only the first N requests")
    ap.add_argument("--commands-out", metavar="FILE",
                    help="write every DFI command (`@SYSCLOCK.PHASE KIND bank B addr A`)")
    a = ap.parse_args()
    trace = load_trace(a.trace)
    if a.limit:
        trace = trace[:a.limit]
    cmds = [] if a.commands_out else None
    print(json.dumps(replay(a.board, trace, a.window, a.request_bytes, cmds)))
    if cmds is not None:
        with open(a.commands_out, "w") as f:
            for c, ph, k, b, addr in cmds:
                f.write(f"@{c}.{ph} {k} bank {b} addr {addr:#x}\n")


if __name__ == "__main__":
    main()
