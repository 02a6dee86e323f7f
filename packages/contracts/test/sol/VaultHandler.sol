// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ComputeToken} from "../../contracts/ComputeToken.sol";
import {VoucherVault} from "../../contracts/VoucherVault.sol";
import {vm} from "./Vm.sol";

/// @title VaultHandler
/// @notice Random actions on a VoucherVault for the invariant fuzzer: deposits, vouchers signed
/// and redeemed in random batches and orders (replays and old ones included), claims, disputes,
/// finalizations, verdicts, thaws, withdrawals and time. Two requesters (with keys, so they sign)
/// and two providers. Each action only makes calls that must succeed (it skips what does not
/// apply), so with `failOnRevert` any revert is a bug. Ghost state records what was signed and
/// what claims paid, for the invariant test.
contract VaultHandler {
    ComputeToken internal immutable token;
    VoucherVault internal immutable vault;
    uint256[2] internal keys;
    address[2] public requesters;
    address[2] public providers;

    struct Signed {
        VoucherVault.Voucher voucher;
        bytes signature;
    }

    /// @dev Signed vouchers per pair index (r * 2 + p).
    mapping(uint256 pair => Signed[]) internal _signed;
    mapping(uint256 pair => uint256) public maxSigned;
    mapping(uint256 pair => uint64) internal _sequence;
    mapping(uint256 pair => uint256) public claimsPaid;
    bytes32[] public claimIds;
    mapping(bytes32 claimId => uint256) internal _claimPair;

    constructor(ComputeToken token_, VoucherVault vault_, uint256 key0, uint256 key1, address p0, address p1) {
        token = token_;
        vault = vault_;
        keys = [key0, key1];
        requesters = [vm.addr(key0), vm.addr(key1)];
        providers = [p0, p1];
    }

    function claimCount() external view returns (uint256) {
        return claimIds.length;
    }

    function deposit(uint256 r, uint256 p, uint256 amount) external {
        r %= 2;
        amount = 1 + (amount % 100_000);
        vm.prank(requesters[r]);
        vault.deposit(p % 3 == 2 ? address(0) : providers[p % 3], amount);
    }

    function assign(uint256 r, uint256 p, uint256 amount) external {
        r %= 2;
        uint256 pool = vault.channelOf(requesters[r], address(0)).balance;
        if (pool == 0) return;
        vm.prank(requesters[r]);
        vault.assign(providers[p % 2], 1 + (amount % pool));
    }

    function sign(uint256 r, uint256 p, uint256 add) external {
        uint256 pair = (r % 2) * 2 + (p % 2);
        uint64 seq = ++_sequence[pair];
        uint256 cumulative = maxSigned[pair] + (add % 50_000);
        VoucherVault.Voucher memory v = VoucherVault.Voucher({
            requester: requesters[r % 2],
            provider: providers[p % 2],
            paidThroughSequence: seq,
            cumulativeAmount: cumulative,
            jobsRoot: keccak256(abi.encode(pair, seq))
        });
        (uint8 sv, bytes32 sr, bytes32 ss) = vm.sign(keys[r % 2], vault.voucherDigest(v));
        _signed[pair].push(Signed(v, abi.encodePacked(sr, ss, sv)));
        maxSigned[pair] = cumulative;
    }

    /// @dev A batch of up to 4 signed vouchers of provider `p` (any requester, any order, repeats).
    function redeem(uint256 p, uint256 picks) external {
        p %= 2;
        uint256 n0 = _signed[p].length;
        uint256 n1 = _signed[2 + p].length;
        if (n0 + n1 == 0) return;
        uint256 count = 1 + (picks % 4);
        VoucherVault.Voucher[] memory vs = new VoucherVault.Voucher[](count);
        bytes[] memory sigs = new bytes[](count);
        uint256 due;
        for (uint256 i = 0; i < count; i++) {
            uint256 k = (picks >> (8 * (i + 1))) % (n0 + n1);
            Signed storage s = k < n0 ? _signed[p][k] : _signed[2 + p][k - n0];
            vs[i] = s.voucher;
            sigs[i] = s.signature;
        }
        // Skip batches that would pay nothing (the vault refuses them by design).
        for (uint256 r = 0; r < 2; r++) {
            VoucherVault.Channel memory c = vault.channelOf(requesters[r], providers[p]);
            uint256 best;
            for (uint256 i = 0; i < count; i++) {
                if (vs[i].requester == requesters[r] && vs[i].cumulativeAmount > best) best = vs[i].cumulativeAmount;
            }
            if (best > c.collected && c.balance > 0) due += 1;
        }
        if (due == 0) return;
        vm.prank(providers[p]);
        vault.redeem(vs, sigs);
    }

    function claim(uint256 r, uint256 p, uint256 fuel) external {
        r %= 2;
        p %= 2;
        uint256 pair = r * 2 + p;
        uint64 seq = ++_sequence[pair];
        fuel = 1 + (fuel % 20);
        if (vault.channelOf(requesters[r], providers[p]).balance < fuel * 100) return;
        VoucherVault.Award memory a = VoucherVault.Award({
            jobId: (1 << 255) + pair * 1e9 + seq,
            requester: requesters[r],
            provider: providers[p],
            sequence: seq,
            pricePerFuel: 100,
            maxFuel: 20,
            specHash: keccak256("spec"),
            resultDeadline: uint64(block.timestamp),
            claimDeadline: uint64(block.timestamp)
        });
        (uint8 sv, bytes32 sr, bytes32 ss) = vm.sign(keys[r], vault.awardDigest(a));
        vm.prank(providers[p]);
        bytes32 id = vault.claim(a, abi.encodePacked(sr, ss, sv), uint64(fuel), keccak256("result"));
        claimIds.push(id);
        _claimPair[id] = pair;
    }

    /// @dev Moves one claim on: dispute it, finalize it, give a verdict or expire its dispute.
    function settle(uint256 pick, uint256 how) external {
        if (claimIds.length == 0) return;
        bytes32 id = claimIds[pick % claimIds.length];
        VoucherVault.Claim memory cl = vault.claimOf(id);
        if (cl.status == VoucherVault.ClaimStatus.Pending) {
            if (block.timestamp < cl.deadline && how % 2 == 0) {
                vault.holdClaim(id, cl.requester);
            } else if (block.timestamp >= cl.deadline) {
                vault.finalizeClaim(id);
            }
        } else if (cl.status == VoucherVault.ClaimStatus.Disputed) {
            if (how % 3 == 0 && block.timestamp >= cl.deadline) {
                vault.expireDispute(id);
            } else {
                vault.settleClaim(id, how % 2 == 1);
            }
        }
        if (vault.claimOf(id).status == VoucherVault.ClaimStatus.Paid && cl.status != VoucherVault.ClaimStatus.Paid) {
            claimsPaid[_claimPair[id]] += cl.amount;
        }
    }

    function thaw(uint256 r, uint256 p, uint256 share) external {
        r %= 2;
        address to = p % 3 == 2 ? address(0) : providers[p % 3];
        uint256 held = vault.channelOf(requesters[r], to).balance;
        if (held == 0) return;
        vm.prank(requesters[r]);
        vault.startThaw(to, 1 + (share % held));
    }

    function cancelThaw(uint256 r, uint256 p) external {
        r %= 2;
        address to = p % 3 == 2 ? address(0) : providers[p % 3];
        (, uint64 readyAt) = vault.thawOf(requesters[r], to);
        if (readyAt == 0) return;
        vm.prank(requesters[r]);
        vault.cancelThaw(to);
    }

    function withdraw(uint256 r, uint256 p) external {
        r %= 2;
        address to = p % 3 == 2 ? address(0) : providers[p % 3];
        (, uint64 readyAt) = vault.thawOf(requesters[r], to);
        if (readyAt == 0 || block.timestamp < readyAt) return;
        vm.prank(requesters[r]);
        vault.withdraw(to);
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 2 hours));
    }
}
