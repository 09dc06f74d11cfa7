// The counter actor from the runtime's specification: add n; get -> reply with
// the count. Adds 1 and 2, asks for the count and prints it (3).
#include <cstdint>
#include <cstdio>

#include "cmud/actor/system.h"

namespace {

struct Add {
  int64_t n = 0;
  CMUD_MESSAGE("example.Add", n)
};
struct Count {
  int64_t value = 0;
  CMUD_MESSAGE("example.Count", value)
};
// A request: its reply is a Count.
struct Get {
  cmud::actor::ActorRef reply_to;
  using Reply = Count;
  CMUD_MESSAGE("example.Get", reply_to)
};

// Only its worker touches count_.
class Counter : public cmud::actor::Actor {
 public:
  explicit Counter(cmud::actor::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(cmud::actor::Message& msg) override {
    return cmud::actor::match(
        msg, [&](Add& add) { count_ += add.n; },
        [&](Get& get) { ctx_.reply(get, Count{count_}); });
  }

 private:
  cmud::actor::Context& ctx_;
  int64_t count_ = 0;
};

}  // namespace

int main() {
  auto sys = cmud::actor::System::create({.listen = false});
  if (!sys.ok()) {
    std::fprintf(stderr, "actor-example: %s\n",
                 sys.status().to_string().c_str());
    return 1;
  }
  auto counter = (*sys)->spawn<Counter>();
  (*sys)->tell(counter, Add{1});
  (*sys)->tell(counter, Add{2});
  cmud::Result<Count> count = (*sys)->request(counter, Get{}).get();
  if (!count.ok()) {
    std::fprintf(stderr, "actor-example: no count: %s\n",
                 count.status().to_string().c_str());
    return 1;
  }
  std::printf("%lld\n", static_cast<long long>(count->value));
  return 0;
}
