// Replays a request trace through Ramulator 2 with a window of W requests: the same
// closed-loop requester as `emulate membench` and testbench/dramsim3/driver.cc (request i
// issues once request i-W is done). Each request is cut into Ramulator transactions of one
// burst (channel width x BL bytes, Ramulator's get_tx_bytes()).
//
//   driver CONFIG.yaml TRACE W REQUEST_BYTES
//
// CONFIG.yaml: an exported Ramulator 2 configuration with the External frontend (config.py
// writes it). TRACE: one request per line, `0xOFFSET R|W` (what `emulate membench
// --trace-out` writes). Prints one JSON object: requests, bytes, cycles, tck_ns, bytes_per_s,
// mean_read_latency_ns, and Ramulator's own row hit / miss / conflict counts.
//
// One clock of this loop is one DRAM clock (one memory_system->tick()). As in the DRAMsim3
// driver, a request's latency runs from the clock its last-finishing burst was handed to
// the controller to the clock that burst completed: a read CL + BL/2 clocks after its
// RD/RDA; a write is posted, done the clock after Ramulator's write buffer took it (as
// DRAMsim3 and membench do; Ramulator's own callback comes when the WR/WRA issues), so a
// write holds the window only while the write buffer is full.
// Written for sail-emu's testbench; uses Ramulator 2's C++ library API only.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "ramulator/base/config.h"
#include "ramulator/base/param.h"
#include "ramulator/controller/controller_base.h"
#include "ramulator/controller/rowpolicy/i_row_policy.h"
#include "ramulator/base/factory.h"
#include "ramulator/base/request.h"
#include "ramulator/frontend/i_frontend.h"
#include "ramulator/memory_system/i_memory_system.h"

namespace Ramulator {
// DRAMsim3's CLOSE_PAGE (its Controller::TransToCommand): every column command carries an
// auto-precharge, RD -> RDA and WR -> WRA, with no exception. Ramulator 2's own closed
// policy (ClosedCAP) closes a row only after `cap` column commands, and with cap 1 still lets
// a second command to the open row through as an RDA/WRA before the precharge, so this
// driver registers the plain policy as "SailClosedAP" (config.py selects it for `closed`).
// In DDR3 an RDA/WRA has the same issue constraints as RD/WR; the driver checks that anyway.
class SailClosedAPRowPolicy : public IRowPolicy, public Implementation {
  RAMULATOR_REGISTER_IMPLEMENTATION(IRowPolicy, SailClosedAPRowPolicy, "SailClosedAP")

  ControllerBase *m_ctrl = nullptr;
  int m_rd = -1, m_wr = -1, m_rda = -1, m_wra = -1;

  void init() override {
    m_ctrl = cast_parent<ControllerBase>();
    const DRAMSpec *spec = m_ctrl->m_device.m_spec;
    m_rd = spec->get_command_id("RD");
    m_wr = spec->get_command_id("WR");
    m_rda = spec->get_command_id("RDA");
    m_wra = spec->get_command_id("WRA");
  }

  void try_upgrade_command(Request &req) override {
    int to = req.command == m_rd ? m_rda : req.command == m_wr ? m_wra : -1;
    if (to < 0) return;
    if (!m_ctrl->check_timing(to, req.addr_vec)) {
      std::fprintf(stderr, "SailClosedAP: auto-precharge command not ready where RD/WR is\n");
      std::abort();
    }
    req.command = to;
    req.final_command = to;
  }
};
}  // namespace Ramulator

struct Req {
    uint64_t addr;
    bool write;
};

int main(int argc, char **argv) {
    if (argc != 5) {
        std::cerr << "usage: driver CONFIG.yaml TRACE W REQUEST_BYTES\n";
        return 2;
    }
    std::ifstream in(argv[2]);
    if (!in) {
        std::cerr << "cannot read " << argv[2] << "\n";
        return 2;
    }
    const size_t window = std::stoul(argv[3]);
    const uint64_t req_bytes = std::stoull(argv[4]);
    std::vector<Req> trace;
    std::string addr, rw;
    while (in >> addr >> rw) {
        trace.push_back({std::stoull(addr, nullptr, 16), rw == "W"});
    }

    auto config = Ramulator::Config::parse_config_file(argv[1]);
    auto *frontend = Ramulator::Factory::create_frontend(config);
    auto *ms = Ramulator::Factory::create_memory_system(config);
    frontend->connect_memory_system(ms);
    ms->connect_frontend(frontend);

    uint64_t clk = 0;
    size_t done = 0;
    uint64_t last_done = 0, lat_sum = 0, lat_n = 0;
    std::vector<uint32_t> parts_left(trace.size(), 0);
    std::vector<bool> is_done(trace.size(), false);
    auto finish = [&](size_t id, uint64_t issued) {
        if (--parts_left[id] == 0) {
            is_done[id] = true;
            done++;
            last_done = clk;
            if (!trace[id].write) {
                lat_sum += clk - issued;
                lat_n++;
            }
        }
    };
    const uint64_t burst = uint64_t(ms->get_tx_bytes());
    const uint64_t parts = (req_bytes + burst - 1) / burst;
    size_t next = 0;
    uint64_t part = 0;
    std::vector<std::pair<size_t, uint64_t>> posted, posted_prev;
    while (done < trace.size()) {
        // Hand over as many bursts as the window and the controller take this clock.
        while (next < trace.size() &&
               (part > 0 || next < window || is_done[next - window])) {
            const uint64_t a = trace[next].addr + part * burst;
            const size_t id = next;
            const uint64_t issued = clk;
            if (part == 0) {
                parts_left[id] = parts;
            }
            const bool ok = frontend->receive_external_requests(
                trace[id].write ? Ramulator::Request::Type::Write
                                : Ramulator::Request::Type::Read,
                a, 0,
                [&finish, id, issued, w = trace[id].write](Ramulator::Request &) {
                    if (!w) finish(id, issued);
                },
                int(burst));
            if (!ok) {
                if (part == 0) {
                    parts_left[id] = 0;
                }
                break;
            }
            if (trace[id].write) {
                posted.push_back({id, issued});
            }
            if (++part == parts) {
                part = 0;
                next++;
            }
        }
        ms->tick();
        // Writes are posted: done the clock after the controller took them, as DRAMsim3
        // and membench complete them (Ramulator itself calls back when the WR issues).
        for (auto [id, issued] : posted_prev) finish(id, issued);
        posted_prev.swap(posted);
        posted.clear();
        clk++;
    }
    frontend->finalize();
    ms->finalize();
    const double tck = ms->get_tCK();
    const double secs = last_done * tck * 1e-9;
    auto stats = ms->collect_stats();
    auto ctrl = stats["controller"];
    auto stat = [&](const char *k) -> long long {
        return ctrl[k] ? ctrl[k].as<long long>() : -1;
    };
    std::printf(
        "{\"requests\": %zu, \"bytes\": %llu, \"cycles\": %llu, \"tck_ns\": %.6f, "
        "\"bytes_per_s\": %.6e, \"mean_read_latency_ns\": %.3f, \"row_hits\": %lld, "
        "\"row_misses\": %lld, \"row_conflicts\": %lld}\n",
        trace.size(), (unsigned long long)(trace.size() * req_bytes),
        (unsigned long long)last_done, tck, trace.size() * req_bytes / secs,
        lat_n ? double(lat_sum) / lat_n * tck : 0.0, stat("row_hits"), stat("row_misses"),
        stat("row_conflicts"));
    return 0;
}
