#!/usr/bin/env python3
"""Writes the Ramulator 2 configuration (YAML, with the External frontend) of one board's
memory from the same DRAMsim3 ini files the first reference uses, so both references read
one set of timings:

    PYTHONPATH=/tmp/sail-ramulator2/src/python \\
        testbench/ramulator2/config.py testbench/dramsim3/x16.ini open|open-rowhit|closed|closed-cap1|closed-d3rda[-drain] OUT.yaml

Needs Ramulator 2's Python configuration package (pure Python; build.sh extracts it to
$RAMULATOR2_DIR/src/python). Only its DDR3 standard, GenericDDR controller, FRFCFS / FRFCFS-RowHit schedulers,
AllBank refresh, Open / ClosedCAP row policies and its YAML export are used.

How each DRAMsim3 setting maps (doc/validation.md lists what does not map exactly):
  tCK 6.666667 ns      -> tCK_ps 6667 (Ramulator keeps whole picoseconds), rate 300 MT/s
  BL 8                 -> nBL 4 (clocks of data on the bus)
  CL/CWL/tRCD/tRP/tRAS -> nCL/nCWL/nRCD/nRP/nRAS; nRC = tRAS + tRP (DRAMsim3 derives tRC so)
  tRRD_S/tWTR_S/tCCD_S -> nRRD/nWTR/nCCD (DDR3 has no _L/_S split; the ini's are equal)
  tFAW/tWR/tRTP/tRFC/tREFI -> nFAW/nWR/nRTP/nRFC/nREFI; tRTRS -> nCS (one rank: unused)
  bus_width/rows/columns/banks -> channel_width/row/column/bank, 1 rank; device_width picks
                          the DDR3_4Gb_x8 or _x16 preset (its dq, asserted equal)
  address_mapping rochrababgco -> RoBaRaCoCh (the same with one channel, rank, bank group)
  trans_queue_size 32  -> read_buffer_size 32 and write_buffer_size 32 (DRAMsim3 keeps a
                          read queue and a write buffer of that size each, too)
  OPEN_PAGE            -> Open row policy ("open-rowhit": with the FRFCFS-RowHit scheduler)
  CLOSE_PAGE           -> "closed": SailClosedAP, a row policy driver.cc registers (every
                          RD/WR becomes RDA/WRA, as DRAMsim3 does); "closed-cap1":
                          Ramulator 2's own ClosedCAP with cap 1 (not identical: it lets a
                          second access to the open row through before closing it);
                          "closed-d3rda": "closed" with DRAMsim3's RDA -> ACT (nRTP below);
                          "closed-d3rda-drain": that, and DRAMsim3's write drain
  RANK_LEVEL_STAGGERED refresh, one rank -> AllBank refresh
"""
import configparser
import sys


def board_config(ini_path, page):
    import ramulator

    ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ini.read(ini_path)
    s, t, y = ini["dram_structure"], ini["timing"], ini["system"]
    gi = lambda sec, k: int(sec[k])
    assert s["protocol"] == "DDR3", s["protocol"]
    assert gi(t, "AL") == 0 and gi(y, "channels") == 1
    assert gi(t, "tRRD_S") == gi(t, "tRRD_L") and gi(t, "tWTR_S") == gi(t, "tWTR_L")
    assert gi(t, "tCCD_S") == gi(t, "tCCD_L")
    dq = gi(s, "device_width")
    tck_ns = float(t["tCK"])
    dram = ramulator.dram.DDR3(
        org_preset=f"DDR3_4Gb_x{dq}",
        timing_preset="DDR3_800D",
        channel_width=gi(y, "bus_width"),
        rank=1,
        bank=gi(s, "bankgroups") * gi(s, "banks_per_group"),
        row=gi(s, "rows"),
        column=gi(s, "columns"),
        rate=round(2000 / tck_ns),
        tCK_ps=round(tck_ns * 1000),
        nBL=gi(s, "BL") // 2,
        nCL=gi(t, "CL"),
        nCWL=gi(t, "CWL"),
        nRCD=gi(t, "tRCD"),
        nRP=gi(t, "tRP"),
        nRAS=gi(t, "tRAS"),
        nRC=gi(t, "tRAS") + gi(t, "tRP"),
        nWR=gi(t, "tWR"),
        # "closed-d3rda": DRAMsim3's read-with-auto-precharge to activate, AL + BL/2 + tRTP
        # + tRP, where Ramulator 2's DDR3 has nRTP + nRP; only RDA uses nRTP under closed
        # pages (and RD -> PRE before a refresh), so this isolates that one timing rule.
        nRTP=gi(t, "tRTP") + (gi(s, "BL") // 2 if page.startswith("closed-d3rda") else 0),
        nCCD=gi(t, "tCCD_S"),
        nRRD=gi(t, "tRRD_S"),
        nWTR=gi(t, "tWTR_S"),
        nFAW=gi(t, "tFAW"),
        nRFC=gi(t, "tRFC"),
        nREFI=gi(t, "tREFI"),
        nCS=gi(t, "tRTRS"),
    )
    assert dram.resolve()[0]["dq"] == dq
    q = gi(y, "trans_queue_size")
    if page in ("open", "open-rowhit"):
        row_policy = ramulator.row_policy.Open()
    elif page in ("closed", "closed-d3rda", "closed-d3rda-drain"):
        # Registered by driver.cc: every RD/WR becomes RDA/WRA (DRAMsim3's CLOSE_PAGE).
        row_policy = {"impl": "SailClosedAP"}
    else:  # "closed-cap1": Ramulator 2's own closed policy, for comparison
        row_policy = ramulator.row_policy.ClosedCAP(cap=1)
    # Write mode: Ramulator's defaults enter it above 80% of the write buffer (or with no
    # read waiting) and leave it below 20%; "closed-d3rda-drain" drains as DRAMsim3 does,
    # from a full buffer to empty (above 31 of 32, below 1).
    drain = page == "closed-d3rda-drain"
    ctrl = ramulator.controller.GenericDDR(
        dram=dram,
        wr_high_watermark=0.97 if drain else 0.8,
        wr_low_watermark=0.03 if drain else 0.2,
        read_buffer_size=q,
        write_buffer_size=q,
        # FRFCFS puts timing-ready commands first, then the oldest; "open-rowhit" uses
        # Ramulator's FRFCFS-RowHit, which also keeps other rows' commands from preempting
        # a queued hit to an open row (with no cap; DRAMsim3 caps hits at 4 per activation).
        scheduler=(ramulator.scheduler.FRFCFSRowHit() if page == "open-rowhit"
                   else ramulator.scheduler.FRFCFS()),
        refresh_manager=ramulator.refresh_manager.AllBank(),
        row_policy=row_policy,
        addr_mapper=ramulator.addr_mapper.RoBaRaCoCh(),
    )
    mem = ramulator.memory_system.GenericDRAM(
        clock_ratio=1,
        controllers=[ctrl],
        channel_mapper=ramulator.channel_mapper.CacheLineInterleave(),
    )
    fe = ramulator.frontend.External(clock_ratio=1)
    return {"frontend": fe.to_config(), "memory_system": mem.to_config()}


def write_config(ini_path, page, out):
    from ramulator.export import dict_to_yaml

    with open(out, "w") as f:
        f.write(dict_to_yaml(board_config(ini_path, page)))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in ("open", "open-rowhit", "closed", "closed-cap1", "closed-d3rda",
                                                "closed-d3rda-drain"):
        sys.exit(__doc__)
    write_config(*sys.argv[1:])
