/*
 * The OpenCL kernel: one work-item per share. The build prepends
 * core/include/sharegate/device/share_check.h, so the check itself, and the reading of
 * the staging layout the host packs (verify_host/gpu_host_plan.hpp), are the ones the
 * host tests hold to the reference Keccak and to the packer.
 *
 * `input` is a chunk staged for `stride` shares: eight word arrays of `stride` entries
 * (nonce words, then digest limbs, limb-major as in the ShareBatch, so that neighbouring
 * work-items read neighbouring words), then the target indices. The batch header travels
 * as seven scalars rather than a struct, whose layout host and device compilers would
 * have to agree on.
 */
__kernel void sg_verify_shares(ulong lane0, ulong lane1, ulong lane2, ulong lane3, ulong lane4, ulong lane5,
                               ulong pool_tail, __global const ulong* input, __global const ulong* target_table,
                               __global uchar* verdicts, ulong stride, ulong end) {
    const ulong i = get_global_id(0);
    /* The global size is rounded up to whole work-groups. */
    if (i >= end) return;
    sg_batch_header header;
    header.lane[0] = lane0;
    header.lane[1] = lane1;
    header.lane[2] = lane2;
    header.lane[3] = lane3;
    header.lane[4] = lane4;
    header.lane[5] = lane5;
    header.pool_tail = pool_tail;
    verdicts[i] = sg_check_staged_share(header, input, target_table, stride, i);
}
