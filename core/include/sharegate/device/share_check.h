/*
 * One share's check -- Keccak-256 of challenge ‖ pool ‖ nonce, comparison with the
 * claimed digest, target test -- written once in the common subset of C99, OpenCL C
 * and CUDA C++, so that the GPU backends run the same source (as hashcat shares its
 * kernels between CUDA and OpenCL) and the host test suite can check that source
 * against the reference Keccak on any machine, GPU or not.
 *
 * Layout it expects (the ShareBatch view, see share_batch.hpp): nonce word k of a
 * share holds nonce bytes 8k..8k+7 read little-endian; digest and target limb k is
 * limb k (0 = least significant) of the big-endian 256-bit number. The GPU kernels read
 * those words from the staging layout at the end of this file.
 *
 * The OpenCL backend embeds this file in its program source: keep it free of
 * #include in the device dialects.
 */
#ifndef SHAREGATE_DEVICE_SHARE_CHECK_H
#define SHAREGATE_DEVICE_SHARE_CHECK_H

#if defined(__OPENCL_VERSION__)
typedef ulong sg_u64;
typedef uint sg_u32;
typedef uchar sg_u8;
#define SG_FN static inline
#define SG_CONSTANT __constant
#define SG_U64(c) c##UL
#define SG_ROTL64(x, n) rotate((x), (ulong)(n))
#define SG_UNROLL _Pragma("unroll")
#define SG_GLOBAL __global
#define SG_LOAD(p) (*(p))
#elif defined(__CUDACC__)
typedef unsigned long long sg_u64;
typedef unsigned int sg_u32;
typedef unsigned char sg_u8;
#define SG_FN __device__ __forceinline__
#define SG_HOST_FN static inline __host__
#define SG_CONSTANT static __constant__ const
#define SG_U64(c) c##ULL
#define SG_ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
#define SG_UNROLL _Pragma("unroll")
#define SG_GLOBAL
/* Through the read-only data cache: every staged word is read once. */
#define SG_LOAD(p) __ldg(p)
#else
#include <stdint.h>
typedef uint64_t sg_u64;
typedef uint32_t sg_u32;
typedef uint8_t sg_u8;
#define SG_FN static inline
#define SG_HOST_FN static inline
#define SG_CONSTANT static const
#define SG_U64(c) c##ULL
#define SG_ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
#define SG_UNROLL
#define SG_GLOBAL
#define SG_LOAD(p) (*(p))
#endif

/* Verdict codes, equal to sharegate::Verdict. */
#define SG_ACCEPTED 0
#define SG_INVALID_DIGEST 1
#define SG_TARGET_NOT_MET 2

/*
 * The part of the Keccak input that is the same for every share of a batch, folded
 * once on the host: lanes 0..5 (challenge, pool bytes 0..15) and pool bytes 16..19,
 * which share lane 6 with the first four nonce bytes.
 */
typedef struct sg_batch_header {
    sg_u64 lane[6];
    sg_u64 pool_tail;
} sg_batch_header;

SG_CONSTANT sg_u64 sg_round_constants[24] = {
    SG_U64(0x0000000000000001), SG_U64(0x0000000000008082), SG_U64(0x800000000000808A), SG_U64(0x8000000080008000),
    SG_U64(0x000000000000808B), SG_U64(0x0000000080000001), SG_U64(0x8000000080008081), SG_U64(0x8000000000008009),
    SG_U64(0x000000000000008A), SG_U64(0x0000000000000088), SG_U64(0x0000000080008009), SG_U64(0x000000008000000A),
    SG_U64(0x000000008000808B), SG_U64(0x800000000000008B), SG_U64(0x8000000000008089), SG_U64(0x8000000000008003),
    SG_U64(0x8000000000008002), SG_U64(0x8000000000000080), SG_U64(0x000000000000800A), SG_U64(0x800000008000000A),
    SG_U64(0x8000000080008081), SG_U64(0x8000000000008080), SG_U64(0x0000000080000001), SG_U64(0x8000000080008008)};

SG_FN sg_u64 sg_byte_swap64(sg_u64 v) {
    v = ((v & SG_U64(0x00ff00ff00ff00ff)) << 8) | ((v >> 8) & SG_U64(0x00ff00ff00ff00ff));
    v = ((v & SG_U64(0x0000ffff0000ffff)) << 16) | ((v >> 16) & SG_U64(0x0000ffff0000ffff));
    return (v << 32) | (v >> 32);
}

#if !defined(__OPENCL_VERSION__)
/* Host side: the batch header from the 32-byte challenge and the 20-byte pool address. */
SG_HOST_FN sg_batch_header sg_make_batch_header(const sg_u8* challenge, const sg_u8* pool) {
    sg_batch_header header;
    sg_u8 bytes[48];
    for (int i = 0; i < 32; ++i) bytes[i] = challenge[i];
    for (int i = 0; i < 16; ++i) bytes[32 + i] = pool[i];
    for (int k = 0; k < 6; ++k) {
        sg_u64 lane = 0;
        for (int b = 7; b >= 0; --b) lane = (lane << 8) | bytes[8 * k + b];
        header.lane[k] = lane;
    }
    header.pool_tail = (sg_u64)pool[16] | ((sg_u64)pool[17] << 8) | ((sg_u64)pool[18] << 16) | ((sg_u64)pool[19] << 24);
    return header;
}
#endif

/* One round on the 25 lanes a00..a24, with b00..b24 and c0..c4, d0..d4 as scratch. */
#define SG_KECCAK_ROUND(rc)               \
    do {                                  \
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20; \
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21; \
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22; \
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23; \
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24; \
        d0 = c4 ^ SG_ROTL64(c1, 1);       \
        d1 = c0 ^ SG_ROTL64(c2, 1);       \
        d2 = c1 ^ SG_ROTL64(c3, 1);       \
        d3 = c2 ^ SG_ROTL64(c4, 1);       \
        d4 = c3 ^ SG_ROTL64(c0, 1);       \
        b00 = a00 ^ d0;                   \
        b01 = SG_ROTL64(a06 ^ d1, 44);    \
        b02 = SG_ROTL64(a12 ^ d2, 43);    \
        b03 = SG_ROTL64(a18 ^ d3, 21);    \
        b04 = SG_ROTL64(a24 ^ d4, 14);    \
        b05 = SG_ROTL64(a03 ^ d3, 28);    \
        b06 = SG_ROTL64(a09 ^ d4, 20);    \
        b07 = SG_ROTL64(a10 ^ d0, 3);     \
        b08 = SG_ROTL64(a16 ^ d1, 45);    \
        b09 = SG_ROTL64(a22 ^ d2, 61);    \
        b10 = SG_ROTL64(a01 ^ d1, 1);     \
        b11 = SG_ROTL64(a07 ^ d2, 6);     \
        b12 = SG_ROTL64(a13 ^ d3, 25);    \
        b13 = SG_ROTL64(a19 ^ d4, 8);     \
        b14 = SG_ROTL64(a20 ^ d0, 18);    \
        b15 = SG_ROTL64(a04 ^ d4, 27);    \
        b16 = SG_ROTL64(a05 ^ d0, 36);    \
        b17 = SG_ROTL64(a11 ^ d1, 10);    \
        b18 = SG_ROTL64(a17 ^ d2, 15);    \
        b19 = SG_ROTL64(a23 ^ d3, 56);    \
        b20 = SG_ROTL64(a02 ^ d2, 62);    \
        b21 = SG_ROTL64(a08 ^ d3, 55);    \
        b22 = SG_ROTL64(a14 ^ d4, 39);    \
        b23 = SG_ROTL64(a15 ^ d0, 41);    \
        b24 = SG_ROTL64(a21 ^ d1, 2);     \
        a00 = b00 ^ (~b01 & b02) ^ (rc);  \
        a01 = b01 ^ (~b02 & b03);         \
        a02 = b02 ^ (~b03 & b04);         \
        a03 = b03 ^ (~b04 & b00);         \
        a04 = b04 ^ (~b00 & b01);         \
        a05 = b05 ^ (~b06 & b07);         \
        a06 = b06 ^ (~b07 & b08);         \
        a07 = b07 ^ (~b08 & b09);         \
        a08 = b08 ^ (~b09 & b05);         \
        a09 = b09 ^ (~b05 & b06);         \
        a10 = b10 ^ (~b11 & b12);         \
        a11 = b11 ^ (~b12 & b13);         \
        a12 = b12 ^ (~b13 & b14);         \
        a13 = b13 ^ (~b14 & b10);         \
        a14 = b14 ^ (~b10 & b11);         \
        a15 = b15 ^ (~b16 & b17);         \
        a16 = b16 ^ (~b17 & b18);         \
        a17 = b17 ^ (~b18 & b19);         \
        a18 = b18 ^ (~b19 & b15);         \
        a19 = b19 ^ (~b15 & b16);         \
        a20 = b20 ^ (~b21 & b22);         \
        a21 = b21 ^ (~b22 & b23);         \
        a22 = b22 ^ (~b23 & b24);         \
        a23 = b23 ^ (~b24 & b20);         \
        a24 = b24 ^ (~b20 & b21);         \
    } while (0)

/*
 * The verdict of one share. n0..n3: nonce words; d0..d3 and t0..t3: limbs of the
 * claimed digest and of the target. The state lives in 25 named variables, never an
 * array, so that every compiler keeps it in registers.
 */
SG_FN sg_u8 sg_check_share(sg_batch_header header, sg_u64 n0, sg_u64 n1, sg_u64 n2, sg_u64 n3, sg_u64 claimed0,
                           sg_u64 claimed1, sg_u64 claimed2, sg_u64 claimed3, sg_u64 t0, sg_u64 t1, sg_u64 t2,
                           sg_u64 t3) {
    /* Message: header lanes 0..5, the nonce from byte 52 (half-way into lane 6), the
       pad's first bit at byte 84 (lane 10, bit 32) and its last at byte 135 (lane 16). */
    sg_u64 a00 = header.lane[0], a01 = header.lane[1], a02 = header.lane[2], a03 = header.lane[3];
    sg_u64 a04 = header.lane[4], a05 = header.lane[5];
    sg_u64 a06 = header.pool_tail | (n0 << 32);
    sg_u64 a07 = (n0 >> 32) | (n1 << 32);
    sg_u64 a08 = (n1 >> 32) | (n2 << 32);
    sg_u64 a09 = (n2 >> 32) | (n3 << 32);
    sg_u64 a10 = (n3 >> 32) | SG_U64(0x0000000100000000);
    sg_u64 a11 = 0, a12 = 0, a13 = 0, a14 = 0, a15 = 0;
    sg_u64 a16 = SG_U64(0x8000000000000000);
    sg_u64 a17 = 0, a18 = 0, a19 = 0, a20 = 0, a21 = 0, a22 = 0, a23 = 0, a24 = 0;
    sg_u64 b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12;
    sg_u64 b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
    sg_u64 c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

    SG_UNROLL
    for (int round = 0; round < 24; ++round) SG_KECCAK_ROUND(sg_round_constants[round]);

    /* The digest's first 8 bytes (lane 0, little-endian in the state) are its most
       significant limb. */
    const sg_u64 difference = (sg_byte_swap64(a00) ^ claimed3) | (sg_byte_swap64(a01) ^ claimed2) |
                              (sg_byte_swap64(a02) ^ claimed1) | (sg_byte_swap64(a03) ^ claimed0);
    if (difference != 0) return SG_INVALID_DIGEST;
    const int below = claimed3 != t3   ? claimed3 < t3
                      : claimed2 != t2 ? claimed2 < t2
                      : claimed1 != t1 ? claimed1 < t1
                                       : claimed0 < t0;
    return below ? SG_ACCEPTED : SG_TARGET_NOT_MET;
}

/*
 * The staging layout both GPU backends copy a chunk of shares in, 68 bytes a share
 * (packed on the host by verify_host/gpu_host_plan.hpp, whose constants are checked
 * against these). For a chunk laid out for `stride` shares: word array k at words
 * [k * stride, (k + 1) * stride), nonce words 0..3 then digest limbs 0..3; after those
 * SG_WORD_ARRAYS arrays, one 32-bit index into the target table a share. The table holds
 * 4 limbs an entry, limb 0 least significant, as the ShareBatch does.
 */
#define SG_WORD_ARRAYS 8
#define SG_STAGED_BYTES_PER_SHARE (SG_WORD_ARRAYS * 8 + 4)

/* The verdict of share i of a staged chunk: how every GPU kernel reads the layout. */
SG_FN sg_u8 sg_check_staged_share(sg_batch_header header, SG_GLOBAL const sg_u64* words,
                                  SG_GLOBAL const sg_u64* target_table, sg_u64 stride, sg_u64 i) {
    SG_GLOBAL const sg_u32* target_index = (SG_GLOBAL const sg_u32*)(words + SG_WORD_ARRAYS * stride);
    SG_GLOBAL const sg_u64* target = target_table + 4 * (sg_u64)SG_LOAD(target_index + i);
    return sg_check_share(header, SG_LOAD(words + i), SG_LOAD(words + stride + i), SG_LOAD(words + 2 * stride + i),
                          SG_LOAD(words + 3 * stride + i), SG_LOAD(words + 4 * stride + i),
                          SG_LOAD(words + 5 * stride + i), SG_LOAD(words + 6 * stride + i),
                          SG_LOAD(words + 7 * stride + i), SG_LOAD(target), SG_LOAD(target + 1), SG_LOAD(target + 2),
                          SG_LOAD(target + 3));
}

#endif /* SHAREGATE_DEVICE_SHARE_CHECK_H */
