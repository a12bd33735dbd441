#include "sharegate/keccak.hpp"

#include <cstring>

namespace sharegate {

const std::uint64_t kKeccakRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL, 0x000000000000808bULL,
    0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL, 0x0000000000000088ULL,
    0x0000000080008009ULL, 0x000000008000000aULL, 0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

namespace {

constexpr std::uint64_t rotl(std::uint64_t v, unsigned n) { return n == 0 ? v : (v << n) | (v >> (64 - n)); }

// Rotation offsets r[x + 5y] of the rho step.
constexpr unsigned kRho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                               25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

}  // namespace

// Written step by step (theta, rho+pi, chi, iota) as the specification reads; the
// fast kernels in verify_cpu/ are measured against this.
void keccak_f1600(std::uint64_t a[25]) {
    for (int round = 0; round < 24; ++round) {
        std::uint64_t c[5];
        for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; ++x) {
            const std::uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
        }
        std::uint64_t b[25];
        for (int x = 0; x < 5; ++x) {
            for (int y = 0; y < 5; ++y) {
                // pi: B[y, 2x+3y] = rot(A[x, y], r[x, y])
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], kRho[x + 5 * y]);
            }
        }
        for (int y = 0; y < 25; y += 5) {
            for (int x = 0; x < 5; ++x) a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
        }
        a[0] ^= kKeccakRoundConstants[round];
    }
}

Bytes32 keccak256(std::span<const std::uint8_t> message) {
    std::uint64_t state[25] = {};
    std::uint8_t block[kKeccak256Rate];
    std::size_t offset = 0;
    // Absorb whole blocks, then the padded final block (which may be all padding).
    while (message.size() - offset >= kKeccak256Rate) {
        for (std::size_t i = 0; i < kKeccak256Rate / 8; ++i) state[i] ^= load_le64(message.data() + offset + 8 * i);
        keccak_f1600(state);
        offset += kKeccak256Rate;
    }
    const std::size_t tail = message.size() - offset;
    std::memset(block, 0, sizeof block);
    if (tail != 0) std::memcpy(block, message.data() + offset, tail);
    block[tail] ^= 0x01;
    block[kKeccak256Rate - 1] ^= 0x80;
    for (std::size_t i = 0; i < kKeccak256Rate / 8; ++i) state[i] ^= load_le64(block + 8 * i);
    keccak_f1600(state);

    Bytes32 out;
    for (std::size_t i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(state[i / 8] >> (8 * (i % 8)));
    return out;
}

Bytes32 keccak256(std::string_view message) {
    return keccak256(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
}

Bytes32 share_digest(const Bytes32& challenge, const Bytes20& pool, const Bytes32& nonce) {
    std::uint8_t message[84];
    std::memcpy(message, challenge.data(), 32);
    std::memcpy(message + 32, pool.data(), 20);
    std::memcpy(message + 52, nonce.data(), 32);
    return keccak256(std::span<const std::uint8_t>(message, sizeof message));
}

}  // namespace sharegate
