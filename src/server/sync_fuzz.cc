// libFuzzer harness: a sync batch from another server, through the query
// actors that take it. Each input is the body of one server.SyncBatch
// message (as it arrives on the cluster port, after the frame): decoded by
// the message codec and, if it decodes, handed to the first of two query
// actors of a fresh server on the deterministic simulator, which then runs
// for a second of virtual time (the batch's entries, floor, repair records
// and pub/sub messages are admitted, applied, logged nowhere, passed to the
// local peer and answered). Nothing but ASan and UBSan judges: a malformed
// batch must be refused, never crash the actor or corrupt its replica.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "cmud/actor/system.h"
#include "cmud/sim/world.h"
#include "messages.h"
#include "query_actor.h"

namespace {

using namespace cmud;
constexpr const char* kHost = "10.0.0.1:7000";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  auto decoded = codec::decode<server::SyncBatch>(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded.ok()) return 0;

  sim::World world(1);
  actor::SystemConfig c;
  c.workers = 2;
  c.runtime_host = world.host(kHost, 2);
  c.on_error = [](const Status&) {};  // refusals are expected here
  auto sys = std::move(actor::System::create(c)).value();
  std::vector<actor::ActorRef> refs;
  for (uint64_t i = 0; i < 2; ++i) refs.emplace_back(sys->address(), i + 1);
  server::SyncOptions options;
  for (size_t i = 0; i < 2; ++i) {
    sys->spawn_on<server::QueryActor>(i, i, options, sys->address(), refs,
                                      nullptr);
  }
  sys->tell(refs[0], std::move(decoded).value());
  world.run_until(world.now_ms() + 1000);
  sys->close();
  return 0;
}
