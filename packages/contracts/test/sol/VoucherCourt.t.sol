// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {VerificationCourt} from "../../contracts/VerificationCourt.sol";
import {VoucherVault} from "../../contracts/VoucherVault.sol";
import {CourtTest} from "./CourtTest.sol";
import {vm} from "./Vm.sol";

/// @notice The court as judge of disputed VoucherVault claims (Kind.VoucherClaim): a wrong claim
/// pays nothing and costs the provider's stake, an honest claim is paid and the requester's bond
/// lost, no majority returns the claim to escrow and the bond, and every path conserves tokens.
/// Wired as `deployBazaar` wires it: the court holds the vault's VERIFIER_ROLE and the registry's
/// SLASHER_ROLE.
contract VoucherCourtTest is CourtTest {
    uint64 internal constant CLAIM_WINDOW = 30 minutes;
    uint64 internal constant DISPUTE_TIMEOUT = 2 hours;
    /// Price per fuel of the voucher jobs: a FUEL claim is 9 tokens, enough to pay three referee fees.
    uint256 internal constant VPRICE = 0.01 ether;
    uint256 internal constant AMOUNT = uint256(FUEL) * VPRICE;
    uint256 internal constant ESCROW = 100 ether;
    uint64 internal constant AWARD_MAX_FUEL = 1_000;

    VoucherVault internal vault;

    function setUp() public override {
        super.setUp();
        vault = new VoucherVault(
            IERC20(address(token)),
            address(this),
            VoucherVault.Config({
                thawDelay: 1 hours,
                signerRevokeDelay: 10 minutes,
                claimWindow: CLAIM_WINDOW,
                disputeTimeout: DISPUTE_TIMEOUT
            })
        );
        vault.grantRole(vault.VERIFIER_ROLE(), address(court));
        registry.grantRole(registry.SLASHER_ROLE(), address(court));
        court.setVoucherVault(vault);
        holders.push(address(vault));
        vm.startPrank(requester);
        token.approve(address(vault), type(uint256).max);
        vault.deposit(provider, ESCROW);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The provider claims job `sequence` with answer `a` (ANS_*), under an award the requester signed.
    function claimed(uint64 sequence, uint8 a) internal returns (bytes32 claimId) {
        VoucherVault.Award memory award = VoucherVault.Award({
            jobId: (1 << 255) + sequence,
            requester: requester,
            provider: provider,
            sequence: sequence,
            pricePerFuel: VPRICE,
            maxFuel: AWARD_MAX_FUEL,
            specHash: keccak256("voucher spec"),
            resultDeadline: uint64(block.timestamp + 600),
            claimDeadline: uint64(block.timestamp + 1 days)
        });
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(REQUESTER_KEY, vault.awardDigest(award));
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        vm.prank(provider);
        claimId = vault.claim(award, abi.encodePacked(r, s, sv), fuel, resultHash);
    }

    function disputed(bytes32 claimId) internal returns (uint256 caseId, uint256 disputeId) {
        vm.prank(requester);
        caseId = court.disputeVoucherClaim(claimId);
        disputeId = court.getCase(caseId).disputeId;
    }

    function statusOfClaim(bytes32 claimId) internal view returns (VoucherVault.ClaimStatus) {
        return vault.claimOf(claimId).status;
    }

    /// @dev The vault holds exactly the requester's escrow plus the locks of open claims.
    function assertVaultBacked(bytes32[] memory open) internal view {
        uint256 locked;
        for (uint256 i = 0; i < open.length; i++) {
            VoucherVault.ClaimStatus s = statusOfClaim(open[i]);
            if (s == VoucherVault.ClaimStatus.Pending || s == VoucherVault.ClaimStatus.Disputed) {
                locked += vault.claimOf(open[i]).amount;
            }
        }
        vm.assertEq(
            token.balanceOf(address(vault)), vault.channelOf(requester, provider).balance + locked, "vault backed"
        );
    }

    function one(bytes32 id) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = id;
    }

    // ---------------------------------------------------------------- opening

    function test_dispute_opensACaseFreezesTheClaimAndTakesTheBond() public {
        bytes32 id = claimed(1, ANS_WRONG);
        uint256 before = token.balanceOf(requester);
        (uint256 caseId, uint256 disputeId) = disputed(id);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        vm.assertTrue(c.kind == VerificationCourt.Kind.VoucherClaim, "kind");
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "disputed");
        vm.assertEq(c.requester, requester, "requester");
        vm.assertEq(c.claimId, id, "claim id");
        vm.assertEq(c.jobIds.length, 0, "no market job");
        vm.assertEq(c.bond, CHALLENGE_BOND, "bond held");
        vm.assertEq(c.claimedResult, WRONG, "the provider's claimed result");
        vm.assertEq(c.claimedFuel, FUEL, "the provider's claimed fuel");
        vm.assertEq(token.balanceOf(requester), before - CHALLENGE_BOND, "bond taken");
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Disputed, "frozen in the vault");
        vm.assertEq(vault.claimOf(id).deadline, uint64(vm.getBlockTimestamp()) + DISPUTE_TIMEOUT, "settle-by");
        VerificationCourt.DisputeView memory d = court.getDispute(disputeId);
        vm.assertEq(d.caseId, caseId, "dispute of the case");
        vm.assertEq(d.parties.length, 2, "two parties");
        vm.assertEq(d.parties[0], provider, "provider is a party");
        vm.assertEq(d.parties[1], requester, "requester is a party");
        d = drawNext(disputeId);
        vm.assertEq(d.referees.length, 3, "three referees");
        for (uint256 i = 0; i < d.referees.length; i++) {
            vm.assertTrue(d.referees[i] != provider && d.referees[i] != requester, "no party judges");
        }
        assertCourtBacked();
        assertVaultBacked(one(id));
    }

    function test_dispute_refusesNonRequesters() public {
        bytes32 id = claimed(1, ANS_RIGHT);
        vm.expectRevert(VoucherVault.Vault__NotRequester.selector);
        vm.prank(stranger);
        court.disputeVoucherClaim(id);
        vm.expectRevert(VoucherVault.Vault__NotRequester.selector);
        vm.prank(provider);
        court.disputeVoucherClaim(id);
        vm.assertEq(court.caseCount(), 0, "no case opened");
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Pending, "still pending");
        // The requester cannot freeze the claim in the vault without the court either.
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, requester, vault.VERIFIER_ROLE()
            )
        );
        vm.prank(requester);
        vault.holdClaim(id, requester);
    }

    function test_dispute_refusedOutsideTheWindow() public {
        bytes32 id = claimed(1, ANS_RIGHT);
        uint64 ends = vault.claimOf(id).deadline;
        vm.warp(ends);
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__ChallengeWindowOver.selector, ends));
        vm.prank(requester);
        court.disputeVoucherClaim(id);
        vault.finalizeClaim(id);
        vm.expectRevert(
            abi.encodeWithSelector(VoucherVault.Vault__InvalidClaimStatus.selector, id, VoucherVault.ClaimStatus.Paid)
        );
        vm.prank(requester);
        court.disputeVoucherClaim(id);
        // Unknown claims and claims already in a case are refused by the vault's status check.
        bytes32 other = claimed(2, ANS_RIGHT);
        disputed(other);
        vm.expectRevert(
            abi.encodeWithSelector(
                VoucherVault.Vault__InvalidClaimStatus.selector, other, VoucherVault.ClaimStatus.Disputed
            )
        );
        vm.prank(requester);
        court.disputeVoucherClaim(other);
        vm.expectRevert(
            abi.encodeWithSelector(
                VoucherVault.Vault__InvalidClaimStatus.selector, bytes32(uint256(7)), VoucherVault.ClaimStatus.None
            )
        );
        vm.prank(requester);
        court.disputeVoucherClaim(bytes32(uint256(7)));
        assertCourtBacked();
    }

    function test_setVoucherVault_onceAndOnlyByTheAdmin() public {
        VerificationCourt fresh = new VerificationCourt(market, address(this), courtConfig());
        bytes32 id = claimed(1, ANS_RIGHT);
        vm.expectRevert(VerificationCourt.Court__NoVault.selector);
        vm.prank(requester);
        fresh.disputeVoucherClaim(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, fresh.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        fresh.setVoucherVault(vault);
        fresh.setVoucherVault(vault);
        vm.assertEq(address(fresh.voucherVault()), address(vault), "vault set");
        vm.expectRevert(VerificationCourt.Court__InvalidConfig.selector);
        fresh.setVoucherVault(vault);
        // Without the vault's VERIFIER_ROLE the court cannot freeze claims.
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(fresh), vault.VERIFIER_ROLE()
            )
        );
        vm.prank(requester);
        fresh.disputeVoucherClaim(id);
    }

    // ---------------------------------------------------------------- verdicts

    function test_wrongClaim_paysNothingAndSlashesTheProvider() public {
        bytes32 id = claimed(1, ANS_WRONG);
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 stakeBefore = registry.stakeOf(provider);
        uint64 faultsBefore = registry.reputationOf(provider).failed;
        (uint256 caseId, uint256 disputeId) = disputed(id);
        address[] memory drawn = judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "claim rejected");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW, "escrow restored");
        vm.assertEq(vault.channelOf(requester, provider).collected, 0, "nothing collected");
        vm.assertEq(token.balanceOf(provider), providerBefore, "the provider got nothing");
        vm.assertEq(registry.stakeOf(provider), stakeBefore - AMOUNT, "stake slashed by the claimed amount");
        vm.assertEq(registry.reputationOf(provider).failed, faultsBefore + 1, "a fault recorded");
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertEq(token.balanceOf(drawn[i]), FAUCET - MIN_STAKE - BOND + REFEREE_FEE, "right referee paid its fee");
        }
        // The bond comes back; the slash, less the referees' fees, goes to the requester.
        vm.assertEq(
            token.balanceOf(requester), requesterBefore + AMOUNT - 3 * REFEREE_FEE, "bond back plus the slash's rest"
        );
        vm.assertTrue(statusOfCase(caseId) == VerificationCourt.CaseStatus.Settled, "settled");
        assertAllSettled();
        assertVaultBacked(one(id));
    }

    function test_honestClaim_isPaidAndTheBondLost() public {
        bytes32 id = claimed(1, ANS_RIGHT);
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 stakeBefore = registry.stakeOf(provider);
        (, uint256 disputeId) = disputed(id);
        address[] memory drawn = judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Paid, "claim paid");
        vm.assertEq(vault.channelOf(requester, provider).collected, AMOUNT, "collected");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW - AMOUNT, "escrow charged");
        vm.assertEq(registry.stakeOf(provider), stakeBefore, "no slash");
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertEq(token.balanceOf(drawn[i]), FAUCET - MIN_STAKE - BOND + REFEREE_FEE, "referee fee");
        }
        vm.assertEq(token.balanceOf(requester), requesterBefore - CHALLENGE_BOND, "the bond is lost");
        vm.assertEq(
            token.balanceOf(provider),
            providerBefore + AMOUNT + CHALLENGE_BOND - 3 * REFEREE_FEE,
            "claim paid, plus the bond's rest for the delay"
        );
        assertAllSettled();
        assertVaultBacked(one(id));
    }

    function test_honestClaim_wrongFuelIsAWrongClaim() public {
        // The provider's receipt is right but it bills one more fuel than it used.
        bytes32 id = claimed(1, ANS_FUEL);
        (, uint256 disputeId) = disputed(id);
        judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_WRONG));
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "over-billing rejected");
        assertAllSettled();
    }

    function test_noMajority_nobodyPunished_claimBackToEscrow_bondReturned() public {
        bytes32 id = claimed(1, ANS_RIGHT);
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 stakeBefore = registry.stakeOf(provider);
        (, uint256 disputeId) = disputed(id);
        address[] memory drawn = judge(disputeId, answers3(ANS_RIGHT, ANS_WRONG, ANS_FUEL));
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "claim back to escrow");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW, "escrow restored");
        vm.assertEq(token.balanceOf(requester), requesterBefore, "bond returned");
        vm.assertEq(token.balanceOf(provider), providerBefore, "provider unpaid");
        vm.assertEq(registry.stakeOf(provider), stakeBefore, "provider not slashed");
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertEq(token.balanceOf(drawn[i]), FAUCET - MIN_STAKE - BOND, "revealing referees keep their bond");
        }
        assertAllSettled();
        assertVaultBacked(one(id));
    }

    function test_noReferee_answers_theMissersPayTheRequester() public {
        bytes32 id = claimed(1, ANS_WRONG);
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 stakeBefore = registry.stakeOf(provider);
        (, uint256 disputeId) = disputed(id);
        judge(disputeId, answers3(ABSENT, ABSENT, COMMIT_ONLY));
        uint256 penalty = (BOND * 5_000) / 10_000;
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "claim back to escrow");
        vm.assertEq(registry.stakeOf(provider), stakeBefore, "no majority: the provider is not slashed");
        vm.assertEq(token.balanceOf(requester), requesterBefore + 3 * penalty, "bond back plus the missers' penalties");
        assertAllSettled();
        assertVaultBacked(one(id));
    }

    function test_expiry_vaultReturnsTheClaimAndALateVerdictStillMovesTheBond() public {
        bytes32 id = claimed(1, ANS_RIGHT);
        uint256 providerBefore = token.balanceOf(provider);
        (uint256 caseId, uint256 disputeId) = disputed(id);
        uint64 settleBy = vault.claimOf(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(VoucherVault.Vault__DisputeOpen.selector, settleBy));
        vault.expireDispute(id);
        // Nobody drew or judged in time: anyone returns the claim to escrow.
        vm.warp(settleBy);
        vault.expireDispute(id);
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "expired to escrow");
        vm.assertEq(vault.channelOf(requester, provider).balance, ESCROW, "escrow restored");
        assertVaultBacked(one(id));
        // The court's verdict arrives late: the claim stays in escrow, the bond still goes.
        judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "stays rejected");
        vm.assertEq(token.balanceOf(provider), providerBefore + CHALLENGE_BOND - 3 * REFEREE_FEE, "bond's rest");
        vm.assertTrue(statusOfCase(caseId) == VerificationCourt.CaseStatus.Settled, "settled");
        assertAllSettled();
        assertVaultBacked(one(id));
    }

    function test_emptyPool_resolvesAtOnce_noMajority() public {
        for (uint256 i = 0; i < referees.length; i++) {
            vm.prank(referees[i]);
            court.leavePool();
        }
        bytes32 id = claimed(1, ANS_RIGHT);
        uint256 requesterBefore = token.balanceOf(requester);
        (, uint256 disputeId) = disputed(id);
        VerificationCourt.DisputeView memory d = drawNext(disputeId);
        vm.assertEq(d.referees.length, 0, "nobody to draw");
        court.resolveDispute(disputeId);
        vm.assertTrue(statusOfClaim(id) == VoucherVault.ClaimStatus.Rejected, "back to escrow");
        vm.assertEq(token.balanceOf(requester), requesterBefore, "bond returned");
        assertAllSettled();
    }

    // ---------------------------------------------------------------- conservation

    /// @notice Whatever the claim and the referees answer, every token stays accounted for, the
    /// case settles, no referee stays on duty and the vault holds exactly escrow plus open locks.
    function testFuzz_voucherClaim_conservesTokens(uint8 claim, uint8 a, uint8 b, uint8 c, bool expireFirst) public {
        claim = uint8(bound(claim, ANS_RIGHT, ANS_FUEL));
        bytes32 id = claimed(1, claim);
        bytes32 other = claimed(2, ANS_RIGHT);
        (, uint256 disputeId) = disputed(id);
        if (expireFirst) {
            vm.warp(vault.claimOf(id).deadline);
            vault.expireDispute(id);
        }
        uint8[] memory answers = answers3(
            uint8(bound(a, ABSENT, COMMIT_ONLY)), uint8(bound(b, ABSENT, COMMIT_ONLY)), uint8(bound(c, ABSENT, COMMIT_ONLY))
        );
        uint256 stakeBefore = registry.stakeOf(provider);
        judge(disputeId, answers);
        (bool determined, uint8 truth) = majorityOf(answers, 3);
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = id;
        ids[1] = other;
        assertVaultBacked(ids);
        VoucherVault.ClaimStatus s = statusOfClaim(id);
        vm.assertTrue(s == VoucherVault.ClaimStatus.Paid || s == VoucherVault.ClaimStatus.Rejected, "claim settled");
        bool upheld = determined && truth == claim;
        // Paid exactly when the referees' majority agrees with the claim (and it had not expired).
        vm.assertEq(s == VoucherVault.ClaimStatus.Paid, upheld && !expireFirst, "paid iff upheld in time");
        // Slashed exactly when a majority found another answer.
        vm.assertEq(registry.stakeOf(provider), determined && !upheld ? stakeBefore - vault.claimOf(id).amount : stakeBefore, "slash");
        assertAllSettled();
    }
}
