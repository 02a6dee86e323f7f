// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {VoucherVault} from "../../contracts/VoucherVault.sol";
import {VaultTest} from "./VaultTest.sol";
import {vm} from "./Vm.sol";

/// @notice Unit tests of the VoucherVault: every external function and every `Vault__` error,
/// with the issue's guarantees: a voucher never pays twice (replayed, older, reordered, after a
/// claim), a thawing requester cannot escape a voucher or claim made before the thaw ended, a
/// revoked key's later vouchers are refused, a silent requester pays through a claim, and a
/// disputed wrong result pays nothing.
contract VoucherVaultTest is VaultTest {
    uint256 internal constant ESCROW = 1_000_000;

    function test_constructor_setsDelaysAndRoles() public {
        vm.assertEq(address(vault.token()), address(token), "token");
        vm.assertEq(vault.thawDelay(), THAW_DELAY, "thaw");
        vm.assertEq(vault.signerRevokeDelay(), REVOKE_DELAY, "revoke");
        vm.assertEq(vault.claimWindow(), CLAIM_WINDOW, "claim window");
        vm.assertEq(vault.disputeTimeout(), DISPUTE_TIMEOUT, "dispute timeout");
        vm.assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), address(this)), "admin");
        vm.assertEq(vault.getRoleAdmin(vault.VERIFIER_ROLE()), bytes32(0), "role admin");
        vm.assertTrue(vault.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
        (, string memory name, string memory version,, address verifying,,) = vault.eip712Domain();
        vm.assertEq(name, "Bazaar VoucherVault", "domain name");
        vm.assertEq(version, "1", "domain version");
        vm.assertEq(verifying, address(vault), "verifying contract");
        vm.assertEq(
            vault.VOUCHER_TYPEHASH(),
            keccak256(
                "Voucher(address requester,address provider,uint64 paidThroughSequence,uint256 cumulativeAmount,bytes32 jobsRoot)"
            ),
            "voucher typehash"
        );
        vm.assertEq(
            vault.AWARD_TYPEHASH(),
            keccak256(
                "Award(uint256 jobId,address requester,address provider,uint64 sequence,uint256 pricePerFuel,uint64 maxFuel,bytes32 specHash,uint64 resultDeadline,uint64 claimDeadline)"
            ),
            "award typehash"
        );
        vm.expectRevert(VoucherVault.Vault__ZeroAddress.selector);
        new VoucherVault(IERC20(address(0)), address(this), vaultConfig());
        vm.expectRevert(VoucherVault.Vault__ZeroAddress.selector);
        new VoucherVault(IERC20(address(token)), address(0), vaultConfig());
    }

    function test_roles_grantRevokeRenounce() public {
        bytes32 role = vault.VERIFIER_ROLE();
        vault.grantRole(role, stranger);
        vault.revokeRole(role, stranger);
        vm.assertFalse(vault.hasRole(role, stranger), "revoked");
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0)));
        vm.prank(stranger);
        vault.grantRole(role, stranger);
        vm.prank(verifier);
        vault.renounceRole(role, verifier);
        vm.assertFalse(vault.hasRole(role, verifier), "renounced");
    }

    function test_deposit_assign_permit() public {
        depositAs(requester, provider, 5_000);
        depositAs(requester, address(0), 3_000);
        vm.prank(requester);
        vault.assign(provider2, 1_000);
        vm.assertEq(vault.channelOf(requester, provider).balance, 5_000, "escrow");
        vm.assertEq(vault.channelOf(requester, provider2).balance, 1_000, "assigned");
        vm.assertEq(vault.channelOf(requester, address(0)).balance, 2_000, "unassigned");
        vm.assertEq(token.balanceOf(address(vault)), 8_000, "vault holds it");

        vm.prank(stranger);
        token.approve(address(vault), 0);
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, address(vault), 700, deadline);
        vm.prank(stranger);
        vault.depositWithPermit(provider, 700, deadline, v, r, s);
        vm.assertEq(vault.channelOf(stranger, provider).balance, 700, "permit deposit");

        vm.startPrank(requester);
        vm.expectRevert(VoucherVault.Vault__ZeroAddress.selector);
        vault.assign(address(0), 1);
        vm.expectRevert(VoucherVault.Vault__ZeroAmount.selector);
        vault.assign(provider, 0);
        vm.expectRevert(VoucherVault.Vault__ZeroAmount.selector);
        vault.deposit(provider, 0);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__InsufficientBalance.selector, 2_000, 2_001));
        vault.assign(provider, 2_001);
        vm.stopPrank();
    }

    function test_redeem_neverPaysTwice() public {
        depositAs(requester, provider, ESCROW);
        VoucherVault.Voucher memory v1 = voucherOf(requester, provider, 10, 10_000);
        VoucherVault.Voucher memory v2 = voucherOf(requester, provider, 20, 25_000);
        VoucherVault.Voucher memory v3 = voucherOf(requester, provider, 30, 31_000);
        uint256 start = token.balanceOf(provider);
        vm.assertEq(redeemAs(provider, REQUESTER_KEY, one(v1)), 10_000, "first");
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = signVoucher(REQUESTER_KEY, v1);
        vm.expectRevert(VoucherVault.Vault__NothingToRedeem.selector);
        vm.prank(provider);
        vault.redeem(one(v1), sigs); // replayed
        VoucherVault.Voucher[] memory reordered = new VoucherVault.Voucher[](3);
        reordered[0] = v3;
        reordered[1] = v2;
        reordered[2] = v1;
        vm.assertEq(redeemAs(provider, REQUESTER_KEY, reordered), 21_000, "newest first, the rest nothing");
        sigs[0] = signVoucher(REQUESTER_KEY, v2);
        vm.expectRevert(VoucherVault.Vault__NothingToRedeem.selector);
        vm.prank(provider);
        vault.redeem(one(v2), sigs); // older
        vm.assertEq(token.balanceOf(provider), start + 31_000, "paid the highest cumulative once");
        VoucherVault.Channel memory c = vault.channelOf(requester, provider);
        vm.assertEq(c.collected, 31_000, "collected");
        vm.assertEq(c.paidThrough, 30, "paid through");
    }

    function test_redeem_manyRequestersAndPartialEscrow() public {
        depositAs(requester, provider, ESCROW);
        depositAs(stranger, provider, 500);
        VoucherVault.Voucher[] memory vs = new VoucherVault.Voucher[](2);
        vs[0] = voucherOf(requester, provider, 5, 4_000);
        vs[1] = voucherOf(stranger, provider, 3, 900);
        bytes[] memory sigs = new bytes[](2);
        sigs[0] = signVoucher(REQUESTER_KEY, vs[0]);
        sigs[1] = signVoucher(STRANGER_KEY, vs[1]);
        vm.prank(provider);
        vm.assertEq(vault.redeem(vs, sigs), 4_500, "escrow caps the stranger's part");
        depositAs(stranger, provider, 1_000);
        vm.assertEq(redeemAs(provider, STRANGER_KEY, one(vs[1])), 400, "the rest once topped up");
    }

    function test_redeem_reverts() public {
        depositAs(requester, provider, ESCROW);
        VoucherVault.Voucher memory v = voucherOf(requester, provider, 1, 100);
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = signVoucher(REQUESTER_KEY, v);
        vm.expectRevert(VoucherVault.Vault__NotProvider.selector);
        vm.prank(provider2);
        vault.redeem(one(v), sigs);
        vm.expectRevert(VoucherVault.Vault__LengthMismatch.selector);
        vm.prank(provider);
        vault.redeem(one(v), new bytes[](0));
        sigs[0] = signVoucher(STRANGER_KEY, v);
        vm.expectRevert(VoucherVault.Vault__InvalidSignature.selector);
        vm.prank(provider);
        vault.redeem(one(v), sigs);
    }

    function test_thaw_cannotEscapeVouchersOrClaims() public {
        depositAs(requester, provider, 10_000);
        VoucherVault.Award memory a = awardOf(requester, provider, 5);
        vm.prank(requester);
        vault.startThaw(provider, 10_000);
        (uint256 amount, uint64 readyAt) = vault.thawOf(requester, provider);
        vm.assertEq(amount, 10_000, "announced");
        vm.assertEq(readyAt, vm.getBlockTimestamp() + THAW_DELAY, "ready at");
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ThawNotOver.selector, readyAt));
        vm.prank(requester);
        vault.withdraw(provider);
        redeemAs(provider, REQUESTER_KEY, one(voucherOf(requester, provider, 4, 3_000)));
        bytes32 id = claimAs(provider, REQUESTER_KEY, a, 2);
        vm.warp(readyAt);
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        vm.assertEq(vault.withdraw(provider), 10_000 - 3_000 - 2 * PRICE, "only what is left");
        vm.assertEq(token.balanceOf(requester), before + 5_000, "paid out");
        vm.warp(vm.getBlockTimestamp() + CLAIM_WINDOW);
        uint256 p = token.balanceOf(provider);
        vault.finalizeClaim(id);
        vm.assertEq(token.balanceOf(provider), p + 2 * PRICE, "claim survives the withdrawal");
        vm.assertEq(token.balanceOf(address(vault)), 0, "vault empty");
    }

    function test_thaw_cancelAndReverts() public {
        depositAs(requester, provider, 10_000);
        vm.startPrank(requester);
        vm.expectRevert(VoucherVault.Vault__NoThaw.selector);
        vault.withdraw(provider);
        vm.expectRevert(VoucherVault.Vault__NoThaw.selector);
        vault.cancelThaw(provider);
        vm.expectRevert(VoucherVault.Vault__ZeroAmount.selector);
        vault.startThaw(provider, 0);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__InsufficientBalance.selector, 10_000, 10_001));
        vault.startThaw(provider, 10_001);
        vault.startThaw(provider, 4_000);
        vault.cancelThaw(provider);
        vm.warp(vm.getBlockTimestamp() + THAW_DELAY);
        vm.expectRevert(VoucherVault.Vault__NoThaw.selector);
        vault.withdraw(provider);
        vm.stopPrank();
    }

    function test_signers_delegateAndRevokeWithDelay() public {
        depositAs(requester, provider, 10_000);
        uint256 key = 0x5157;
        address signer = vm.addr(key);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__NotSigner.selector, signer));
        vault.revokeSigner(signer);
        vm.expectRevert(VoucherVault.Vault__ZeroAddress.selector);
        vault.authorizeSigner(address(0));
        vault.authorizeSigner(signer);
        vm.stopPrank();
        vm.assertTrue(vault.isSigner(requester, signer), "delegated");
        redeemAs(provider, key, one(voucherOf(requester, provider, 1, 100)));
        vm.prank(requester);
        vault.revokeSigner(signer);
        uint64 effective = uint64(vm.getBlockTimestamp() + REVOKE_DELAY);
        redeemAs(provider, key, one(voucherOf(requester, provider, 2, 200)));
        vm.warp(effective);
        vm.assertFalse(vault.isSigner(requester, signer), "revoked");
        VoucherVault.Voucher memory late = voucherOf(requester, provider, 3, 300);
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = signVoucher(key, late);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__SignerRevoked.selector, signer, effective));
        vm.prank(provider);
        vault.redeem(one(late), sigs);
        vm.assertEq(redeemAs(provider, REQUESTER_KEY, one(late)), 100, "the requester's own key still signs");
    }

    function test_claim_silentRequesterPaysOnce() public {
        depositAs(requester, provider, ESCROW);
        redeemAs(provider, REQUESTER_KEY, one(voucherOf(requester, provider, 10, 10_000)));
        VoucherVault.Award memory a = awardOf(requester, provider, 11);
        bytes32 id = claimAs(provider, REQUESTER_KEY, a, 300);
        vm.assertEq(id, vault.claimIdOf(requester, provider, 11), "claim id");
        VoucherVault.Claim memory cl = vault.claimOf(id);
        vm.assertEq(cl.jobId, a.jobId, "the claim names the signed job");
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ChallengeWindowOpen.selector, cl.deadline));
        vault.finalizeClaim(id);
        vm.warp(cl.deadline);
        uint256 before = token.balanceOf(provider);
        vault.finalizeClaim(id);
        vm.assertEq(token.balanceOf(provider), before + 300 * PRICE, "paid");
        vm.expectRevert(
            abi.encodeWithSelector(VoucherVault.Vault__InvalidClaimStatus.selector, id, VoucherVault.ClaimStatus.Paid)
        );
        vault.finalizeClaim(id);
        bytes memory sig = signAward(REQUESTER_KEY, a);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ClaimExists.selector, id));
        vm.prank(provider);
        vault.claim(a, sig, 300, keccak256("result"));
        uint256 cumulative = 10_000 + 300 * PRICE + 5_000;
        vm.assertEq(
            redeemAs(provider, REQUESTER_KEY, one(voucherOf(requester, provider, 12, cumulative))),
            5_000,
            "the voucher after the claim pays only job 12"
        );
        VoucherVault.Award memory covered = awardOf(requester, provider, 12);
        sig = signAward(REQUESTER_KEY, covered);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__AlreadyCovered.selector, 12, 12));
        vm.prank(provider);
        vault.claim(covered, sig, 1, keccak256("result"));
    }

    function test_claim_pendingCoveredByVoucherReturnsToEscrow() public {
        depositAs(requester, provider, ESCROW);
        bytes32 id = claimAs(provider, REQUESTER_KEY, awardOf(requester, provider, 1), 10);
        redeemAs(provider, REQUESTER_KEY, one(voucherOf(requester, provider, 1, 10 * PRICE)));
        vm.warp(vm.getBlockTimestamp() + CLAIM_WINDOW);
        uint256 before = token.balanceOf(provider);
        vault.finalizeClaim(id);
        vm.assertEq(token.balanceOf(provider), before, "not paid twice");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW - 10 * PRICE, "lock back in escrow");
    }

    function test_claim_reverts() public {
        depositAs(requester, provider, ESCROW);
        VoucherVault.Award memory a = awardOf(requester, provider, 1);
        bytes memory sig = signAward(REQUESTER_KEY, a);
        vm.expectRevert(VoucherVault.Vault__NotProvider.selector);
        vm.prank(provider2);
        vault.claim(a, sig, 1, keccak256("r"));
        vm.startPrank(provider);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__FuelAboveMax.selector, 1_001, 1_000));
        vault.claim(a, sig, 1_001, keccak256("r"));
        vm.expectRevert(VoucherVault.Vault__ZeroAmount.selector);
        vault.claim(a, sig, 0, keccak256("r"));
        vm.stopPrank();
        bytes memory forged = signAward(STRANGER_KEY, a);
        vm.expectRevert(VoucherVault.Vault__InvalidSignature.selector);
        vm.prank(provider);
        vault.claim(a, forged, 1, keccak256("r"));
        // The job id is signed: the same award under another job id does not verify.
        VoucherVault.Award memory otherJob = awardOf(requester, provider, 1);
        otherJob.jobId += 1;
        vm.expectRevert(VoucherVault.Vault__InvalidSignature.selector);
        vm.prank(provider);
        vault.claim(otherJob, sig, 1, keccak256("r"));
        a.pricePerFuel = 1e9;
        sig = signAward(REQUESTER_KEY, a);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__InsufficientBalance.selector, ESCROW, 1e12));
        vm.prank(provider);
        vault.claim(a, sig, 1_000, keccak256("r"));
        vm.warp(a.claimDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ClaimDeadlinePassed.selector, a.claimDeadline));
        vm.prank(provider);
        vault.claim(a, sig, 1, keccak256("r"));
    }

    function test_dispute_wrongResultPaysNothing() public {
        depositAs(requester, provider, ESCROW);
        bytes32 id = claimAs(provider, REQUESTER_KEY, awardOf(requester, provider, 1), 100);
        // Only a verifier freezes a claim, and only for its requester: a requester cannot dispute
        // the vault directly (it goes through the court, which takes a bond).
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, requester, vault.VERIFIER_ROLE())
        );
        vm.prank(requester);
        vault.holdClaim(id, requester);
        vm.expectRevert(VoucherVault.Vault__NotRequester.selector);
        vm.prank(verifier);
        vault.holdClaim(id, stranger);
        vm.prank(verifier);
        (address p, uint256 amount, bytes32 resultHash, uint64 fuel) = vault.holdClaim(id, requester);
        vm.assertEq(p, provider, "held claim's provider");
        vm.assertEq(amount, 100 * PRICE, "held claim's amount");
        vm.assertEq(resultHash, keccak256("result"), "held claim's result");
        vm.assertEq(fuel, 100, "held claim's fuel");
        vm.assertEq(vault.claimOf(id).maxFuel, 1_000, "claim keeps the award's fuel limit");
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, vault.VERIFIER_ROLE())
        );
        vm.prank(stranger);
        vault.settleClaim(id, true);
        uint256 before = token.balanceOf(provider);
        vm.prank(verifier);
        vm.assertTrue(vault.settleClaim(id, false), "settled");
        vm.assertEq(token.balanceOf(provider), before, "nothing paid");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW, "escrow restored");
        // A second verdict on a settled claim changes nothing.
        vm.prank(verifier);
        vm.assertFalse(vault.settleClaim(id, true), "already settled");
        vm.assertEq(token.balanceOf(provider), before, "still nothing paid");

        bytes32 late = claimAs(provider, REQUESTER_KEY, awardOf(requester, provider, 2), 100);
        uint64 ends = vault.claimOf(late).deadline;
        vm.warp(ends);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ChallengeWindowOver.selector, ends));
        vm.prank(verifier);
        vault.holdClaim(late, requester);
        vm.expectRevert(
            abi.encodeWithSelector(
                VoucherVault.Vault__InvalidClaimStatus.selector, late, VoucherVault.ClaimStatus.Pending
            )
        );
        vm.prank(verifier);
        vault.settleClaim(late, true);

        bytes32 stale = claimAs(provider, REQUESTER_KEY, awardOf(requester, provider, 3), 100);
        vm.prank(verifier);
        vault.holdClaim(stale, requester);
        uint64 settleBy = vault.claimOf(stale).deadline;
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__DisputeOpen.selector, settleBy));
        vault.expireDispute(stale);
        vm.warp(settleBy);
        vault.expireDispute(stale);
        vm.assertTrue(vault.claimOf(stale).status == VoucherVault.ClaimStatus.Rejected, "returned to escrow");
        // A late verdict finds it expired and leaves it there.
        vm.prank(verifier);
        vm.assertFalse(vault.settleClaim(stale, true), "expired claims stay in escrow");

        bytes32 right = claimAs(provider, REQUESTER_KEY, awardOf(requester, provider, 4), 100);
        vm.prank(verifier);
        vault.holdClaim(right, requester);
        vm.prank(verifier);
        vault.settleClaim(right, true);
        vm.assertEq(token.balanceOf(provider), before + 100 * PRICE, "a right result is paid");
    }

    /// @notice Any order of vouchers pays exactly the highest cumulative amount, capped by the escrow.
    function testFuzz_redeem_paysHighestCumulativeOnce(uint256 a, uint256 b, uint256 c, uint256 escrow) public {
        a = bound(a, 1, 1e24);
        b = bound(b, 1, 1e24);
        c = bound(c, 1, 1e24);
        escrow = bound(escrow, 1, FAUCET);
        depositAs(requester, provider, escrow);
        VoucherVault.Voucher[] memory vs = new VoucherVault.Voucher[](3);
        vs[0] = voucherOf(requester, provider, 1, a);
        vs[1] = voucherOf(requester, provider, 2, b);
        vs[2] = voucherOf(requester, provider, 3, c);
        uint256 highest = a > b ? (a > c ? a : c) : (b > c ? b : c);
        uint256 expected = highest < escrow ? highest : escrow;
        vm.assertEq(redeemAs(provider, REQUESTER_KEY, vs), expected, "paid");
        vm.assertEq(vault.channelOf(requester, provider).collected, expected, "collected");
        vm.assertEq(token.balanceOf(address(vault)), escrow - expected, "vault keeps the rest");
    }
}
