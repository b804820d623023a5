// analysis-cxx.cc: a C++ server-like program whose names need demangling
// (used by tests/inspect/core and tests/inspect/symbolize): a namespace,
// a class template, a lambda and an always-inlined method.
//   analysis-cxx        prints a sum and exits 0
//   analysis-cxx ARG    (any argument, e.g. crash) stores through a NULL
//                       pointer inside the lambda, called from
//                       srv::handle(std::vector<srv::Conn>&, int)
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace srv {

struct Conn {
	int fd;
	std::string peer;
};

template <typename T> class Pool {
public:
	__attribute__((noinline)) T get(std::size_t i) const { return items_.at(i); }
	void put(T v) { items_.push_back(v); }
	// Inlined into its callers: a frame marked (inlined).
	__attribute__((always_inline)) inline int weight(int x) const
	{
		return x * 3 + static_cast<int>(items_.size());
	}

private:
	std::vector<T> items_;
};

int *volatile target; // NULL

__attribute__((noinline)) int handle(std::vector<Conn> &conns, int mode)
{
	Pool<int> pool;
	int sum = 0;

	pool.put(mode);
	pool.put(mode + 1);
	std::for_each(conns.begin(), conns.end(), [&](const Conn &c) __attribute__((noinline)) {
		sum += pool.weight(c.fd);
		if (mode == 2 && c.fd == 42)
			*target = sum; // the crash
	});
	return sum + pool.weight(mode) + pool.get(1);
}

} // namespace srv

int main(int argc, char **)
{
	std::vector<srv::Conn> conns{ { 1, "10.0.0.1" }, { 42, "10.0.0.2" } };
	int mode = argc > 1 ? 2 : 0;

	std::printf("%d\n", srv::handle(conns, mode));
	return 0;
}
