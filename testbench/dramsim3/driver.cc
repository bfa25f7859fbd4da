// Replays a request trace through DRAMsim3 with a window of W requests: the same closed-loop
// requester as `emulate membench` (request i issues once request i-W is done; before
// 2026-12 the driver counted requests in flight instead, which let posted writes, done at
// once, free slots ahead of older reads and run more reads in flight than membench does).
// Each request is cut into DRAMsim3 transactions of one burst (bus width x BL bytes).
//
//   driver CONFIG.ini TRACE W REQUEST_BYTES
//
// TRACE: one request per line, `0xOFFSET R|W` (what `emulate membench --trace-out` writes).
// Prints one JSON object: requests, bytes, cycles, tck_ns, bytes_per_s, mean_read_latency_ns.
// Written for sail-emu's testbench; links against DRAMsim3's public API (dramsim3.h) only.
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "dramsim3.h"

struct Req {
    uint64_t addr;
    bool write;
};

int main(int argc, char **argv) {
    if (argc != 5) {
        std::cerr << "usage: driver CONFIG.ini TRACE W REQUEST_BYTES\n";
        return 2;
    }
    std::string config = argv[1];
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
    uint64_t clk = 0;
    size_t done = 0;
    uint64_t last_done = 0, lat_sum = 0, lat_n = 0;
    // Per transaction address, the requests waiting on it (request id, issue clock).
    std::map<uint64_t, std::deque<std::pair<size_t, uint64_t>>> waiting;
    std::vector<uint32_t> parts_left(trace.size(), 0);
    // Request i issues once request i - W is done (in order, as membench's requester: a
    // count of requests in flight would let a write that completes at once free a slot
    // ahead of an older read).
    std::vector<bool> is_done(trace.size(), false);
    auto finish = [&](uint64_t a) {
        auto &q = waiting[a];
        auto [id, issued] = q.front();
        q.pop_front();
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
    dramsim3::MemorySystem *ms = dramsim3::GetMemorySystem(
        config, "/tmp", [&](uint64_t a) { finish(a); }, [&](uint64_t a) { finish(a); });
    const uint64_t burst = uint64_t(ms->GetBusBits()) / 8 * ms->GetBurstLength();
    const uint64_t parts = (req_bytes + burst - 1) / burst;
    size_t next = 0;
    uint64_t part = 0;
    while (done < trace.size()) {
        // Issue as many transactions as the window and the controller take this clock.
        while (next < trace.size() &&
               (part > 0 || next < window || is_done[next - window])) {
            uint64_t a = trace[next].addr + part * burst;
            if (!ms->WillAcceptTransaction(a, trace[next].write)) break;
            if (part == 0) {
                parts_left[next] = parts;
            }
            waiting[a].push_back({next, clk});
            ms->AddTransaction(a, trace[next].write);
            if (++part == parts) {
                part = 0;
                next++;
            }
        }
        ms->ClockTick();
        clk++;
    }
    const double tck = ms->GetTCK();
    const double secs = last_done * tck * 1e-9;
    std::printf(
        "{\"requests\": %zu, \"bytes\": %llu, \"cycles\": %llu, \"tck_ns\": %.6f, "
        "\"bytes_per_s\": %.6e, \"mean_read_latency_ns\": %.3f}\n",
        trace.size(), (unsigned long long)(trace.size() * req_bytes),
        (unsigned long long)last_done, tck, trace.size() * req_bytes / secs,
        lat_n ? double(lat_sum) / lat_n * tck : 0.0);
    delete ms;
    return 0;
}
