"""Sample Python programs for the code converter, each with a reference C++ translation that prints the same output
(timing lines aside) when built with the sandbox's compiler flags."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """A Python program to convert, and our hand-written C++ of it."""

    key: str
    title: str
    python: str
    cpp: str
    note: str = ""


PI_PY = '''import time


def leibniz_pi(terms):
    """pi from the alternating series 4 * (1 - 1/3 + 1/5 - 1/7 + ...)."""
    total = 0.0
    sign = 1.0
    for k in range(terms):
        total += sign / (2 * k + 1)
        sign = -sign
    return 4.0 * total


start = time.perf_counter()
pi = leibniz_pi(100_000_000)
elapsed = time.perf_counter() - start
print(f"pi ~= {pi:.12f}")
print(f"Elapsed: {elapsed:.3f} s")
'''

PI_CPP = '''#include <chrono>
#include <cstdio>

int main() {
    auto start = std::chrono::steady_clock::now();
    const long long terms = 100000000LL;
    double total = 0.0;
    double sign = 1.0;
    for (long long k = 0; k < terms; ++k) {
        total += sign / static_cast<double>(2 * k + 1);
        sign = -sign;
    }
    double pi = 4.0 * total;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("pi ~= %.12f\\n", pi);
    std::printf("Elapsed: %.3f s\\n", elapsed);
    return 0;
}
'''

SUBARRAY_PY = '''import time


def lcg(seed, a=1664525, c=1013904223, m=2**32):
    value = seed
    while True:
        value = (a * value + c) % m
        yield value


def max_subarray_sum(n, seed, min_val, max_val):
    gen = lcg(seed)
    numbers = [next(gen) % (max_val - min_val + 1) + min_val for _ in range(n)]
    best = float("-inf")
    for i in range(n):  # O(n^2) on purpose: every subarray start
        current = 0
        for j in range(i, n):
            current += numbers[j]
            if current > best:
                best = current
    return best


def total_max_subarray_sum(n, initial_seed, min_val, max_val, runs=20):
    total = 0
    gen = lcg(initial_seed)
    for _ in range(runs):
        total += max_subarray_sum(n, next(gen), min_val, max_val)
    return total


start = time.perf_counter()
result = total_max_subarray_sum(10_000, 42, -10, 10)
elapsed = time.perf_counter() - start
print(f"Total maximum subarray sum (20 runs): {result}")
print(f"Elapsed: {elapsed:.3f} s")
'''

SUBARRAY_CPP = '''#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

static inline uint64_t lcg_next(uint64_t value) {
    return (1664525ULL * value + 1013904223ULL) % 4294967296ULL;
}

static long long max_subarray_sum(int n, uint64_t seed, long long min_val, long long max_val) {
    std::vector<long long> numbers(n);
    uint64_t value = seed;
    const uint64_t span = static_cast<uint64_t>(max_val - min_val + 1);
    for (int i = 0; i < n; ++i) {
        value = lcg_next(value);
        numbers[i] = static_cast<long long>(value % span) + min_val;
    }
    long long best = std::numeric_limits<long long>::min();
    for (int i = 0; i < n; ++i) {
        long long current = 0;
        for (int j = i; j < n; ++j) {
            current += numbers[j];
            if (current > best) best = current;
        }
    }
    return best;
}

int main() {
    auto start = std::chrono::steady_clock::now();
    long long total = 0;
    uint64_t value = 42;
    for (int run = 0; run < 20; ++run) {
        value = lcg_next(value);
        total += max_subarray_sum(10000, value, -10, 10);
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("Total maximum subarray sum (20 runs): %lld\\n", total);
    std::printf("Elapsed: %.3f s\\n", elapsed);
    return 0;
}
'''

SIEVE_PY = '''import time


def primes_below(limit):
    is_prime = [True] * limit
    is_prime[0] = is_prime[1] = False
    p = 2
    while p * p < limit:
        if is_prime[p]:
            for multiple in range(p * p, limit, p):
                is_prime[multiple] = False
        p += 1
    count = 0
    total = 0
    for n in range(limit):
        if is_prime[n]:
            count += 1
            total += n
    return count, total


start = time.perf_counter()
count, total = primes_below(10_000_000)
elapsed = time.perf_counter() - start
print(f"Primes below 10,000,000: {count}")
print(f"Their sum: {total}")
print(f"Elapsed: {elapsed:.3f} s")
'''

SIEVE_CPP = '''#include <chrono>
#include <cstdio>
#include <vector>

int main() {
    auto start = std::chrono::steady_clock::now();
    const long long limit = 10000000LL;
    std::vector<unsigned char> is_prime(limit, 1);
    is_prime[0] = is_prime[1] = 0;
    for (long long p = 2; p * p < limit; ++p) {
        if (is_prime[p]) {
            for (long long multiple = p * p; multiple < limit; multiple += p) is_prime[multiple] = 0;
        }
    }
    long long count = 0, total = 0;
    for (long long n = 0; n < limit; ++n) {
        if (is_prime[n]) {
            ++count;
            total += n;
        }
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("Primes below 10,000,000: %lld\\n", count);
    std::printf("Their sum: %lld\\n", total);
    std::printf("Elapsed: %.3f s\\n", elapsed);
    return 0;
}
'''

MANDELBROT_PY = '''import time


def mandelbrot(width, height, max_iter):
    inside = 0
    total_iter = 0
    for row in range(height):
        y = -1.5 + 3.0 * row / height
        for col in range(width):
            x = -2.0 + 3.0 * col / width
            zr = zi = 0.0
            n = 0
            while n < max_iter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + x, 2.0 * zr * zi + y
                n += 1
            total_iter += n
            if n == max_iter:
                inside += 1
    return inside, total_iter


start = time.perf_counter()
inside, total_iter = mandelbrot(480, 360, 256)
elapsed = time.perf_counter() - start
print(f"Points inside the set: {inside}")
print(f"Total iterations: {total_iter}")
print(f"Elapsed: {elapsed:.3f} s")
'''

MANDELBROT_CPP = '''#include <chrono>
#include <cstdio>

int main() {
    auto start = std::chrono::steady_clock::now();
    const int width = 480, height = 360, max_iter = 256;
    long long inside = 0, total_iter = 0;
    for (int row = 0; row < height; ++row) {
        double y = -1.5 + 3.0 * row / height;
        for (int col = 0; col < width; ++col) {
            double x = -2.0 + 3.0 * col / width;
            double zr = 0.0, zi = 0.0;
            int n = 0;
            while (n < max_iter && zr * zr + zi * zi <= 4.0) {
                double next_zr = zr * zr - zi * zi + x;
                zi = 2.0 * zr * zi + y;
                zr = next_zr;
                ++n;
            }
            total_iter += n;
            if (n == max_iter) ++inside;
        }
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("Points inside the set: %lld\\n", inside);
    std::printf("Total iterations: %lld\\n", total_iter);
    std::printf("Elapsed: %.3f s\\n", elapsed);
    return 0;
}
'''

SAMPLES: dict[str, Sample] = {
    s.key: s for s in (
        Sample("pi", "π from 100 million terms of the Leibniz series", PI_PY, PI_CPP,
               "One chain of dependent additions: bit-identical output bounds the speedup near 40×."),
        Sample("subarray", "Maximum subarray sum, LCG data, O(n²), 20 runs", SUBARRAY_PY, SUBARRAY_CPP,
               "LCG a=1664525, c=1013904223, m=2³², seed 42, n=10,000, values in [-10, 10]. Python needs minutes."),
        Sample("sieve", "Prime sieve below 10 million (count and sum)", SIEVE_PY, SIEVE_CPP,
               "The sum needs 64-bit integers in C++."),
        Sample("mandelbrot", "Mandelbrot set, 480×360, 256 iterations", MANDELBROT_PY, MANDELBROT_CPP,
               "Floating point: identical only without fused multiply-add (-ffp-contract=off)."),
    )
}
