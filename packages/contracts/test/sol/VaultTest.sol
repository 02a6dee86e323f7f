// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {VoucherVault} from "../../contracts/VoucherVault.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @title VaultTest
/// @notice Fixture of the VoucherVault Solidity tests: the BazaarTest suite plus a vault with
/// short delays, the requester's deposits approved, and helpers that sign vouchers and awards
/// with `vm.sign` over the vault's own digests.
abstract contract VaultTest is BazaarTest {
    uint64 internal constant THAW_DELAY = 1 hours;
    uint64 internal constant REVOKE_DELAY = 10 minutes;
    uint64 internal constant CLAIM_WINDOW = 30 minutes;
    uint64 internal constant DISPUTE_TIMEOUT = 2 hours;
    uint256 internal constant PRICE = 1_000;

    VoucherVault internal vault;

    function setUp() public virtual override {
        super.setUp();
        vault = new VoucherVault(IERC20(address(token)), address(this), vaultConfig());
        vault.grantRole(vault.VERIFIER_ROLE(), verifier);
        vm.prank(requester);
        token.approve(address(vault), type(uint256).max);
        vm.prank(stranger);
        token.approve(address(vault), type(uint256).max);
    }

    function vaultConfig() internal pure returns (VoucherVault.Config memory) {
        return VoucherVault.Config({
            thawDelay: THAW_DELAY,
            signerRevokeDelay: REVOKE_DELAY,
            claimWindow: CLAIM_WINDOW,
            disputeTimeout: DISPUTE_TIMEOUT
        });
    }

    function depositAs(address who, address to, uint256 amount) internal {
        vm.prank(who);
        vault.deposit(to, amount);
    }

    function voucherOf(address from, address to, uint64 through, uint256 cumulative)
        internal
        pure
        returns (VoucherVault.Voucher memory)
    {
        return VoucherVault.Voucher({
            requester: from,
            provider: to,
            paidThroughSequence: through,
            cumulativeAmount: cumulative,
            jobsRoot: keccak256(abi.encode(through))
        });
    }

    function signVoucher(uint256 key, VoucherVault.Voucher memory v) internal view returns (bytes memory) {
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(key, vault.voucherDigest(v));
        return abi.encodePacked(r, s, sv);
    }

    function awardOf(address from, address to, uint64 sequence) internal view returns (VoucherVault.Award memory) {
        return VoucherVault.Award({
            jobId: (1 << 255) + sequence,
            requester: from,
            provider: to,
            sequence: sequence,
            pricePerFuel: PRICE,
            maxFuel: 1_000,
            specHash: keccak256("spec"),
            resultDeadline: uint64(block.timestamp + 600),
            claimDeadline: uint64(block.timestamp + 1 days)
        });
    }

    function signAward(uint256 key, VoucherVault.Award memory a) internal view returns (bytes memory) {
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(key, vault.awardDigest(a));
        return abi.encodePacked(r, s, sv);
    }

    /// @dev Redeems `vs` (signed by `key`) as `by`; returns what was paid.
    function redeemAs(address by, uint256 key, VoucherVault.Voucher[] memory vs) internal returns (uint256) {
        bytes[] memory sigs = new bytes[](vs.length);
        for (uint256 i = 0; i < vs.length; i++) {
            sigs[i] = signVoucher(key, vs[i]);
        }
        vm.prank(by);
        return vault.redeem(vs, sigs);
    }

    function one(VoucherVault.Voucher memory v) internal pure returns (VoucherVault.Voucher[] memory vs) {
        vs = new VoucherVault.Voucher[](1);
        vs[0] = v;
    }

    function claimAs(address by, uint256 key, VoucherVault.Award memory a, uint64 fuel) internal returns (bytes32) {
        bytes memory sig = signAward(key, a);
        vm.prank(by);
        return vault.claim(a, sig, fuel, keccak256("result"));
    }
}
