// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {VerificationCourt} from "../../contracts/VerificationCourt.sol";
import {HookToken} from "../contracts/HookToken.sol";
import {ReentrantActor} from "../contracts/ReentrantActor.sol";
import {CourtTest} from "./CourtTest.sol";
import {vm} from "./Vm.sol";

/// @notice Unit tests of VerificationCourt: every external function, every `Court__*` error with
/// its exact arguments, and each settlement path of the replicated, audit and challenge modes.
contract VerificationCourtTest is CourtTest {
    uint256 internal constant PAID = uint256(FUEL) * PRICE;
    uint256 internal constant PROVIDER_NET = PAID - (PAID * FEE_BPS) / 10_000;

    // ---------------------------------------------------------------- construction and admin

    function test_constructor_wiresTheMarketAndRefusesZeroAddresses() public {
        vm.assertEq(address(court.market()), address(market), "market");
        vm.assertEq(address(court.registry()), address(registry), "registry");
        vm.assertEq(address(court.token()), address(token), "token");
        vm.assertTrue(court.hasRole(court.DEFAULT_ADMIN_ROLE(), address(this)), "admin");
        vm.expectRevert(VerificationCourt.Court__ZeroAddress.selector);
        new VerificationCourt(JobMarket(address(0)), address(this), courtConfig());
        vm.expectRevert(VerificationCourt.Court__ZeroAddress.selector);
        new VerificationCourt(market, address(0), courtConfig());
    }

    function test_constructor_refusesAnInvalidConfig() public {
        VerificationCourt.Config memory c = courtConfig();
        c.referees = 0;
        vm.expectRevert(VerificationCourt.Court__InvalidConfig.selector);
        new VerificationCourt(market, address(this), c);
    }

    function test_views_afterSetup() public view {
        VerificationCourt.Config memory c = court.config();
        vm.assertEq(c.refereeBond, BOND, "bond");
        vm.assertEq(c.referees, 3, "referees");
        vm.assertEq(court.MAX_POOL(), 256, "max pool");
        vm.assertEq(court.MAX_REPLICAS(), 9, "max replicas");
        vm.assertEq(court.REASON_WRONG_RESULT(), bytes32("WRONG_RESULT"), "reason");
        vm.assertEq(court.REASON_VERIFIED(), bytes32("VERIFIED"), "reason");
        vm.assertEq(court.REASON_UNDETERMINED(), bytes32("UNDETERMINED"), "reason");
        vm.assertEq(court.caseCount(), 0, "no case");
        vm.assertEq(court.disputeCount(), 0, "no dispute");
        vm.assertEq(court.caseOfJob(1), 0, "no job in a case");
        vm.assertEq(court.owed(requester), 0, "nothing owed");
        vm.assertEq(court.pool().length, REFEREES, "pool");
        vm.assertTrue(court.getCase(1).kind == VerificationCourt.Kind.None, "no case 1");
        vm.assertEq(court.getDispute(1).caseId, 0, "no dispute 1");
        vm.assertEq(court.voteOf(1, referees[0]).commitment, bytes32(0), "no vote");
        vm.assertEq(court.getRoleAdmin(court.DEFAULT_ADMIN_ROLE()), bytes32(0), "role admin");
        vm.assertTrue(court.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
        assertCourtBacked();
    }

    function test_setConfig_onlyAdminAndValid() public {
        VerificationCourt.Config memory c = courtConfig();
        c.referees = 5;
        bytes32 admin = court.DEFAULT_ADMIN_ROLE();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, admin));
        court.setConfig(c);
        vm.expectEmit(address(court));
        emit VerificationCourt.ConfigSet(c);
        court.setConfig(c);
        vm.assertEq(court.config().referees, 5, "applied");

        VerificationCourt.Config[4] memory bad = [courtConfig(), courtConfig(), courtConfig(), courtConfig()];
        bad[0].commitWindow = 0;
        bad[1].revealWindow = 0;
        bad[2].penaltyBps = 10_001;
        bad[3].challengerRewardBps = 10_001;
        for (uint256 i = 0; i < bad.length; i++) {
            vm.expectRevert(VerificationCourt.Court__InvalidConfig.selector);
            court.setConfig(bad[i]);
        }
    }

    function test_roles_grantRevokeRenounce() public {
        bytes32 admin = court.DEFAULT_ADMIN_ROLE();
        court.grantRole(admin, stranger);
        vm.assertTrue(court.hasRole(admin, stranger), "granted");
        court.revokeRole(admin, stranger);
        vm.assertFalse(court.hasRole(admin, stranger), "revoked");
        vm.expectRevert(IAccessControl.AccessControlBadConfirmation.selector);
        court.renounceRole(admin, stranger);
        court.renounceRole(admin, address(this));
        vm.assertFalse(court.hasRole(admin, address(this)), "renounced");
    }

    // ---------------------------------------------------------------- pool

    function test_joinPool_takesTheBondAndLeavePoolReturnsIt() public {
        uint256 before = token.balanceOf(provider);
        vm.expectEmit(address(court));
        emit VerificationCourt.MemberJoined(provider, BOND);
        vm.prank(provider);
        court.joinPool();
        vm.assertEq(token.balanceOf(provider), before - BOND, "bond taken");
        VerificationCourt.Member memory m = court.memberOf(provider);
        vm.assertTrue(m.active, "active");
        vm.assertEq(m.bond, BOND, "bond recorded");
        vm.assertEq(m.index, REFEREES, "appended");
        assertCourtBacked();

        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyMember.selector, provider));
        court.joinPool();

        // Leaving from the middle of the pool keeps the indexes right.
        vm.expectEmit(address(court));
        emit VerificationCourt.MemberLeft(referees[1], BOND);
        vm.prank(referees[1]);
        court.leavePool();
        vm.prank(provider);
        court.leavePool();
        vm.assertEq(token.balanceOf(provider), before, "bond back");
        vm.assertEq(court.pool().length, REFEREES - 1, "two left");
        assertCourtBacked();

        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotMember.selector, provider));
        court.leavePool();
    }

    function test_joinPool_refusesIneligibleAccounts() public {
        vm.prank(stranger);
        token.approve(address(court), type(uint256).max);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotEligible.selector, stranger));
        court.joinPool();
    }

    function test_joinPool_refusesMemberNumberMaxPoolPlusOne() public {
        uint256 max = court.MAX_POOL();
        for (uint256 i = REFEREES; i < max; i++) {
            address who = address(uint160(0x100000 + i));
            token.mint(who, MIN_STAKE + BOND);
            stakeAs(who, MIN_STAKE);
            vm.startPrank(who);
            token.approve(address(court), BOND);
            court.joinPool();
            vm.stopPrank();
        }
        vm.assertEq(court.pool().length, max, "pool full");
        vm.prank(provider);
        vm.expectRevert(VerificationCourt.Court__PoolFull.selector);
        court.joinPool();
        // A full pool still draws within the gas limit, and a leave frees a seat.
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        vm.prank(referees[0]);
        token.approve(address(court), type(uint256).max);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        VerificationCourt.DisputeView memory d = drawNext(court.getCase(caseId).disputeId);
        vm.assertEq(d.referees.length, 3, "three drawn from 255");
        vm.prank(referees[1]);
        court.leavePool();
        vm.prank(provider);
        court.joinPool();
        vm.assertEq(court.pool().length, max, "full again");
    }

    function test_leavePool_refusedWhileOnDuty() public {
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        VerificationCourt.DisputeView memory d = drawNext(court.getCase(caseId).disputeId);
        address r = d.referees[0];
        vm.assertEq(court.memberOf(r).duties, 1, "on duty");
        vm.prank(r);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__OnDuty.selector, r, uint32(1)));
        court.leavePool();
    }

    // ---------------------------------------------------------------- replicated

    function test_openReplicated_validatesTheReplicas() public {
        uint256 a = awardedJob(provider);
        uint256 b = awardedJob(provider2);
        uint256 sameProvider = awardedJob(provider);
        uint256 open = createDefaultJob();
        uint256 otherFuel = createJob(MAX_PRICE, MAX_FUEL - 1);
        awardTo(otherFuel, PROVIDER3_KEY, PRICE);

        uint256[] memory one = new uint256[](1);
        one[0] = a;
        vm.prank(requester);
        vm.expectRevert(VerificationCourt.Court__InvalidReplicas.selector);
        court.openReplicated(one);
        uint256[] memory ten = new uint256[](10);
        vm.prank(requester);
        vm.expectRevert(VerificationCourt.Court__InvalidReplicas.selector);
        court.openReplicated(ten);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotRequester.selector, a));
        court.openReplicated(pair(a, b));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__ReplicasDiffer.selector, otherFuel));
        court.openReplicated(pair(a, otherFuel));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__DuplicateProvider.selector, provider));
        court.openReplicated(pair(a, sameProvider));
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(VerificationCourt.Court__InvalidJobStatus.selector, open, JobMarket.Status.Open)
        );
        court.openReplicated(pair(a, open));

        vm.expectEmit(address(court));
        emit VerificationCourt.CaseOpened(1, VerificationCourt.Kind.Replicated, requester, pair(a, b));
        uint256 caseId = openReplicated(pair(a, b));
        vm.assertEq(caseId, 1, "case 1");
        vm.assertEq(court.caseOfJob(b), 1, "linked");
        vm.assertTrue(market.getJob(a).held, "held");
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        vm.assertTrue(c.kind == VerificationCourt.Kind.Replicated, "kind");
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Running, "running");
        vm.assertEq(c.jobIds.length, 2, "jobs");

        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyInCase.selector, b, uint256(1)));
        court.openReplicated(pair(sameProvider, b));
    }

    function test_settleCase_paysAgreeingReplicas() public {
        uint256 a = awardedJob(provider);
        uint256 b = awardedJob(provider2);
        uint256 caseId = openReplicated(pair(a, b));
        commitAnswer(provider, a, ANS_RIGHT);
        // No replica reveals before every replica has committed: nothing to copy.
        vm.assertFalse(market.revealOpen(a), "reveal barred");
        vm.assertFalse(court.mayReveal(a), "the court bars it");
        (JobMarket.Status bStatus, uint64 bCommitBy) = market.phaseOf(b);
        vm.assertTrue(bStatus == JobMarket.Status.Awarded, "b not committed yet");
        vm.assertEq(market.getJob(a).deadline, bCommitBy + REVEAL_WINDOW, "reveal floor: b's commit deadline + window");
        (bytes32 right, uint64 fuel) = answerOf(ANS_RIGHT);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__RevealBarred.selector, a));
        vm.prank(provider);
        market.revealResult(a, right, fuel, keccak256("salt"));
        commitAnswer(provider2, b, ANS_RIGHT);
        revealCommitted(provider, a, ANS_RIGHT);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReady.selector, b));
        court.settleCase(caseId);
        revealCommitted(provider2, b, ANS_RIGHT);
        vm.warp(vm.getBlockTimestamp() + CHALLENGE_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__OnHold.selector, a));
        market.finalize(a);
        uint256 p1 = token.balanceOf(provider);
        uint256 p2 = token.balanceOf(provider2);
        vm.expectEmit(address(court));
        emit VerificationCourt.JobVerified(caseId, a, provider, true, bytes32("VERIFIED"));
        court.settleCase(caseId);
        vm.assertEq(token.balanceOf(provider), p1 + PROVIDER_NET, "replica a paid");
        vm.assertEq(token.balanceOf(provider2), p2 + PROVIDER_NET, "replica b paid");
        vm.assertEq(court.getCase(caseId).disputeId, 0, "no dispute");
        vm.expectRevert(
            abi.encodeWithSelector(
                VerificationCourt.Court__WrongCase.selector, caseId, VerificationCourt.CaseStatus.Settled
            )
        );
        court.settleCase(caseId);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__CaseNotFound.selector, uint256(99)));
        court.settleCase(99);
        assertAllSettled();
    }

    function test_replicatedDispute_slashesTheWrongReplicaAndPaysTheRightOneAndTheReferees() public {
        uint256 a = awardedJob(provider);
        uint256 b = awardedJob(provider2);
        uint256 caseId = openReplicated(pair(a, b));
        revealReplicaPair(a, ANS_RIGHT, b, ANS_FUEL);
        court.settleCase(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "disputed");
        vm.expectRevert(
            abi.encodeWithSelector(
                VerificationCourt.Court__WrongCase.selector, caseId, VerificationCourt.CaseStatus.Disputed
            )
        );
        court.settleCase(caseId);
        VerificationCourt.DisputeView memory d = court.getDispute(c.disputeId);
        vm.assertEq(d.parties.length, 2, "both replicas are parties");
        uint256 stake2 = registry.stakeOf(provider2);
        uint256 p1 = token.balanceOf(provider);
        uint256 req = token.balanceOf(requester);
        address[] memory drawn = judge(c.disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        vm.assertEq(token.balanceOf(provider), p1 + PROVIDER_NET, "right replica paid");
        vm.assertEq(registry.stakeOf(provider2), stake2 - MIN_COLLATERAL, "wrong replica slashed");
        // Refund of both escrows less the right replica's pay, plus the slash less three referee fees.
        vm.assertEq(
            token.balanceOf(requester), req + 2 * ESCROW - PAID + MIN_COLLATERAL - 3 * REFEREE_FEE, "requester"
        );
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertEq(token.balanceOf(drawn[i]), FAUCET - MIN_STAKE - BOND + REFEREE_FEE, "referee fee");
        }
        assertAllSettled();
    }

    uint256 internal constant ESCROW = MAX_PRICE * MAX_FUEL;

    function test_replicated_loneSurvivorIsDisputedAndAllExpiredEnds() public {
        uint256 a = awardedJob(provider);
        uint256 b = awardedJob(provider2);
        uint256 caseId = openReplicated(pair(a, b));
        commitAnswer(provider, a, ANS_RIGHT);
        // b never commits: a's reveal opens once b's commit deadline has passed.
        vm.warp(vm.getBlockTimestamp() + COMMIT_WINDOW + 1);
        revealCommitted(provider, a, ANS_RIGHT);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReady.selector, b));
        court.settleCase(caseId);
        market.reclaimExpired(b);
        court.settleCase(caseId);
        uint256 disputeId = court.getCase(caseId).disputeId;
        // Every replica's provider is a party (the expired one too), so neither judges the case.
        vm.assertEq(court.getDispute(disputeId).parties.length, 2, "all replica providers are parties");
        judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ABSENT));
        vm.assertTrue(market.getJob(a).status == JobMarket.Status.Finalized, "paid");

        // Both replicas expire: the case ends with nothing to settle.
        uint256 c2 = openReplicated(pair(awardedJob(provider), awardedJob(provider2)));
        vm.warp(vm.getBlockTimestamp() + COMMIT_WINDOW + 1);
        VerificationCourt.CaseView memory c = court.getCase(c2);
        market.reclaimExpired(c.jobIds[0]);
        market.reclaimExpired(c.jobIds[1]);
        court.settleCase(c2);
        assertAllSettled();
    }

    function test_replicated_noMajorityRefundsTheRequesterAndSlashesNobody() public {
        uint256 a = awardedJob(provider);
        uint256 b = awardedJob(provider2);
        uint256 caseId = openReplicated(pair(a, b));
        revealReplicaPair(a, ANS_RIGHT, b, ANS_WRONG);
        court.settleCase(caseId);
        uint256 s1 = registry.stakeOf(provider);
        uint256 s2 = registry.stakeOf(provider2);
        uint256 req = token.balanceOf(requester);
        uint256 disputeId = court.getCase(caseId).disputeId;
        judge(disputeId, answers3(ANS_RIGHT, ANS_WRONG, ANS_FUEL));
        vm.assertTrue(court.getDispute(disputeId).resolved, "resolved without a majority");
        vm.assertEq(registry.stakeOf(provider), s1, "not slashed");
        vm.assertEq(registry.stakeOf(provider2), s2, "not slashed");
        vm.assertEq(token.balanceOf(requester), req + 2 * ESCROW, "full refund");
        assertAllSettled();
    }

    // ---------------------------------------------------------------- audit

    function test_openAudit_validatesAndTakesTheFee() public {
        uint256 jobId = awardedJob(provider);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__InvalidAuditBps.selector, uint16(0)));
        court.openAudit(jobId, 0);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__InvalidAuditBps.selector, uint16(10_001)));
        court.openAudit(jobId, 10_001);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotRequester.selector, jobId));
        court.openAudit(jobId, 5_000);
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        uint256 caseId = court.openAudit(jobId, 3_500);
        vm.assertEq(token.balanceOf(requester), before - AUDIT_FEE, "fee taken");
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        vm.assertEq(c.auditBps, 3_500, "bps");
        vm.assertEq(c.auditFee, AUDIT_FEE, "fee held");
        assertCourtBacked();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyInCase.selector, jobId, caseId));
        court.openAudit(jobId, 3_500);
    }

    /// @dev Opens an audit at `bps` on a job `provider` reveals with answer `a`; arms the draw.
    function armedAudit(uint16 bps, uint8 a) internal returns (uint256 caseId, uint256 jobId) {
        jobId = awardedJob(provider);
        vm.prank(requester);
        caseId = court.openAudit(jobId, bps);
        revealAnswer(provider, jobId, a);
        vm.prank(requester);
        court.drawAudit(caseId);
    }

    function test_drawAudit_armsThenDrawsInALaterBlock() public {
        uint256 jobId = awardedJob(provider);
        vm.prank(requester);
        uint256 caseId = court.openAudit(jobId, 10_000);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReady.selector, jobId));
        court.drawAudit(caseId);
        revealAnswer(provider, jobId, ANS_RIGHT);
        uint256 endsAt = vm.getBlockTimestamp() + AUDIT_GRACE;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__GraceNotOver.selector, endsAt));
        court.drawAudit(caseId);
        vm.expectEmit(address(court));
        emit VerificationCourt.DrawRearmed(caseId, uint64(vm.getBlockNumber()));
        vm.prank(requester);
        court.drawAudit(caseId);
        uint64 seedBlock = court.getCase(caseId).seedBlock;
        vm.assertEq(seedBlock, vm.getBlockNumber(), "armed on this block");
        // Same block: its hash is not known yet.
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__DrawTooEarly.selector, seedBlock));
        court.drawAudit(caseId);
        // An unreadable (too old) seed block re-arms instead of drawing from a zero hash.
        vm.roll(vm.getBlockNumber() + 1);
        vm.setBlockhash(seedBlock, bytes32(0));
        vm.prank(requester);
        court.drawAudit(caseId);
        vm.assertEq(court.getCase(caseId).seedBlock, vm.getBlockNumber(), "re-armed");
        vm.roll(vm.getBlockNumber() + 1);
        vm.prank(requester);
        court.drawAudit(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "selected at 100%");
        VerificationCourt.DisputeView memory d = court.getDispute(c.disputeId);
        vm.assertTrue(d.audit, "audit check");
        vm.assertEq(d.referees.length, 1, "one auditor");
        vm.assertEq(d.referees[0], c.auditor, "the auditor");
        vm.expectRevert(
            abi.encodeWithSelector(
                VerificationCourt.Court__WrongCase.selector, caseId, VerificationCourt.CaseStatus.Disputed
            )
        );
        court.drawAudit(caseId);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyDrawn.selector, c.disputeId));
        court.drawReferees(c.disputeId);
    }

    function test_drawAudit_anyoneAfterTheGraceAndNotSelectedPaysAndRefunds() public {
        uint256 jobId = awardedJob(provider);
        vm.prank(requester);
        uint256 caseId = court.openAudit(jobId, 1);
        revealAnswer(provider, jobId, ANS_RIGHT);
        vm.warp(vm.getBlockTimestamp() + AUDIT_GRACE);
        vm.prank(stranger);
        court.drawAudit(caseId);
        vm.roll(vm.getBlockNumber() + 1);
        // A seed whose roll is not below 1 bps.
        bytes32 commit = market.getJob(jobId).commitment;
        bytes32 seed;
        for (uint256 i = 1;; i++) {
            seed = bytes32(i);
            if (uint256(keccak256(abi.encode(uint256(seed), caseId, commit))) % 10_000 >= 1) break;
        }
        vm.setBlockhash(vm.getBlockNumber() - 1, seed);
        uint256 req = token.balanceOf(requester);
        uint256 p = token.balanceOf(provider);
        vm.expectEmit(address(court));
        emit VerificationCourt.AuditDrawn(caseId, false, address(0));
        vm.prank(stranger);
        court.drawAudit(caseId);
        vm.assertEq(token.balanceOf(provider), p + PROVIDER_NET, "provider paid");
        vm.assertEq(token.balanceOf(requester), req + ESCROW - PAID + AUDIT_FEE, "refund and fee back");
        assertAllSettled();
    }

    function test_audit_auditorAgrees_isPaidTheFee() public {
        (uint256 caseId,) = armedAudit(10_000, ANS_RIGHT);
        vm.roll(vm.getBlockNumber() + 1);
        vm.prank(requester);
        court.drawAudit(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        uint256 a = token.balanceOf(c.auditor);
        uint256 p = token.balanceOf(provider);
        judge(c.disputeId, answers3(ANS_RIGHT, 0, 0));
        vm.assertEq(token.balanceOf(c.auditor), a + AUDIT_FEE, "auditor paid");
        vm.assertEq(token.balanceOf(provider), p + PROVIDER_NET, "provider paid");
        assertAllSettled();
    }

    function test_audit_absentAuditorForfeitsAndTheResultStands() public {
        (uint256 caseId,) = armedAudit(10_000, ANS_RIGHT);
        vm.roll(vm.getBlockNumber() + 1);
        vm.prank(requester);
        court.drawAudit(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        uint256 req = token.balanceOf(requester);
        uint256 a = token.balanceOf(c.auditor);
        judge(c.disputeId, answers3(ABSENT, 0, 0));
        vm.assertEq(token.balanceOf(requester), req + ESCROW - PAID + AUDIT_FEE + BOND / 2, "fee and penalty back");
        vm.assertEq(token.balanceOf(c.auditor), a + BOND / 2, "rest of the bond back");
        vm.assertFalse(court.memberOf(c.auditor).active, "left the pool");
        assertAllSettled();
    }

    function test_audit_mismatchGoesToReferees_wrongProviderSlashed() public {
        (uint256 caseId,) = armedAudit(10_000, ANS_WRONG);
        vm.roll(vm.getBlockNumber() + 1);
        vm.prank(requester);
        court.drawAudit(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        uint256 first = c.disputeId;
        judge(first, answers3(ANS_RIGHT, 0, 0));
        c = court.getCase(caseId);
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "follow-up dispute");
        vm.assertTrue(c.disputeId != first, "new dispute");
        vm.assertEq(court.memberOf(c.auditor).duties, 1, "auditor stays on duty");
        vm.prank(c.auditor);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__OnDuty.selector, c.auditor, uint32(1)));
        court.leavePool();
        uint256 stake = registry.stakeOf(provider);
        uint256 req = token.balanceOf(requester);
        address[] memory drawn = judge(c.disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertTrue(drawn[i] != c.auditor, "auditor is a party, not a referee");
        }
        vm.assertEq(registry.stakeOf(provider), stake - MIN_COLLATERAL, "wrong provider slashed");
        vm.assertEq(token.balanceOf(requester), req + ESCROW + MIN_COLLATERAL - 3 * REFEREE_FEE, "requester pays nothing");
        vm.assertEq(court.memberOf(c.auditor).bond, BOND, "right auditor keeps its bond");
        assertAllSettled();
    }

    function test_audit_mismatch_wrongAuditorPenalizedAndProviderPaid() public {
        (uint256 caseId,) = armedAudit(10_000, ANS_RIGHT);
        vm.roll(vm.getBlockNumber() + 1);
        vm.prank(requester);
        court.drawAudit(caseId);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        judge(c.disputeId, answers3(ANS_WRONG, 0, 0));
        c = court.getCase(caseId);
        uint256 p = token.balanceOf(provider);
        judge(c.disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_WRONG));
        vm.assertEq(court.memberOf(c.auditor).bond, BOND / 2, "wrong auditor penalized");
        vm.assertTrue(court.memberOf(c.auditor).active, "still a member");
        // Penalty (half a bond) + the wrong referee's penalty, less two referee fees, to the provider.
        vm.assertEq(token.balanceOf(provider), p + PROVIDER_NET + BOND / 2 + BOND / 2 - 2 * REFEREE_FEE, "provider");
        assertAllSettled();
    }

    function test_audit_noEligibleAuditorSettlesUnaudited() public {
        for (uint256 i = 0; i < referees.length; i++) {
            vm.prank(referees[i]);
            court.leavePool();
        }
        (uint256 caseId,) = armedAudit(10_000, ANS_RIGHT);
        vm.roll(vm.getBlockNumber() + 1);
        vm.expectEmit(address(court));
        emit VerificationCourt.AuditDrawn(caseId, true, address(0));
        vm.prank(requester);
        court.drawAudit(caseId);
        vm.assertTrue(court.getDispute(1).resolved, "empty check resolved");
        assertAllSettled();
    }

    function test_settleCase_auditOfAnExpiredJobRefundsTheFee_andRefusesARevealedOne() public {
        uint256 jobId = awardedJob(provider);
        vm.prank(requester);
        uint256 caseId = court.openAudit(jobId, 5_000);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReady.selector, jobId));
        court.settleCase(caseId);
        vm.warp(vm.getBlockTimestamp() + COMMIT_WINDOW + 1);
        market.reclaimExpired(jobId);
        uint256 req = token.balanceOf(requester);
        court.settleCase(caseId);
        vm.assertEq(token.balanceOf(requester), req + AUDIT_FEE, "fee back");

        (uint256 c2,) = armedAudit(5_000, ANS_RIGHT);
        vm.expectRevert(
            abi.encodeWithSelector(VerificationCourt.Court__WrongCase.selector, c2, VerificationCourt.CaseStatus.Running)
        );
        court.settleCase(c2);
        uint256 c3 = openReplicated(pair(awardedJob(provider), awardedJob(provider2)));
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(VerificationCourt.Court__WrongCase.selector, c3, VerificationCourt.CaseStatus.Running)
        );
        court.drawAudit(c3);
    }

    // ---------------------------------------------------------------- challenge

    function test_challenge_validates() public {
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 open = createDefaultJob();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotEligible.selector, stranger));
        court.challenge(jobId, WRONG, FUEL);
        vm.prank(provider);
        court.joinPool();
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotEligible.selector, provider));
        court.challenge(jobId, WRONG, FUEL);
        vm.prank(referees[0]);
        vm.expectRevert(VerificationCourt.Court__SameResult.selector);
        court.challenge(jobId, RIGHT, FUEL);
        vm.prank(referees[0]);
        vm.expectRevert(
            abi.encodeWithSelector(VerificationCourt.Court__InvalidJobStatus.selector, open, JobMarket.Status.Open)
        );
        court.challenge(open, WRONG, FUEL);
        uint64 endsAt = uint64(vm.getBlockTimestamp() + CHALLENGE_WINDOW);
        vm.warp(endsAt);
        vm.prank(referees[0]);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, endsAt));
        court.challenge(jobId, WRONG, FUEL);
        vm.warp(endsAt - 1);
        vm.expectEmit(address(court));
        emit VerificationCourt.Challenged(1, jobId, referees[0], WRONG, FUEL);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        vm.assertEq(court.getCase(caseId).bond, CHALLENGE_BOND, "bond held");
        assertCourtBacked();
        vm.prank(referees[1]);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyInCase.selector, jobId, caseId));
        court.challenge(jobId, WRONG, FUEL);
    }

    function test_challenge_rightChallengerRewarded_wrongProviderSlashed() public {
        uint256 jobId = revealedJob(provider, ANS_WRONG);
        uint256 c = token.balanceOf(referees[0]);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_RIGHT);
        uint256 req = token.balanceOf(requester);
        judge(court.getCase(caseId).disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        uint256 reward = MIN_COLLATERAL / 2;
        vm.assertEq(token.balanceOf(referees[0]), c + reward, "bond back plus half the slash");
        vm.assertEq(token.balanceOf(requester), req + ESCROW + MIN_COLLATERAL - reward - 3 * REFEREE_FEE, "refund");
        assertAllSettled();
    }

    function test_challenge_wrongChallengerLosesTheBondToTheProvider() public {
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 c = token.balanceOf(referees[0]);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        uint256 p = token.balanceOf(provider);
        judge(court.getCase(caseId).disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ABSENT));
        vm.assertEq(token.balanceOf(referees[0]), c - CHALLENGE_BOND, "bond lost");
        // Bond + the absent referee's penalty, less two fees, to the wronged provider.
        vm.assertEq(token.balanceOf(provider), p + PROVIDER_NET + CHALLENGE_BOND + BOND / 2 - 2 * REFEREE_FEE, "provider");
        assertAllSettled();
    }

    // ---------------------------------------------------------------- referees

    function test_drawReferees_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__DisputeNotFound.selector, uint256(9)));
        court.drawReferees(9);
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        uint256 disputeId = court.getCase(caseId).disputeId;
        // Same block as the challenge that opened the dispute.
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__DrawTooEarly.selector, uint64(vm.getBlockNumber())));
        court.drawReferees(disputeId);
        vm.roll(vm.getBlockNumber() + 1);
        vm.setBlockhash(vm.getBlockNumber() - 1, bytes32(0));
        vm.expectEmit(address(court));
        emit VerificationCourt.DrawRearmed(disputeId, uint64(vm.getBlockNumber()));
        court.drawReferees(disputeId);
        vm.assertEq(court.getDispute(disputeId).commitDeadline, 0, "not drawn");
        vm.roll(vm.getBlockNumber() + 1);
        court.drawReferees(disputeId);
        VerificationCourt.DisputeView memory d = court.getDispute(disputeId);
        vm.assertEq(d.commitDeadline, vm.getBlockTimestamp() + COURT_COMMIT, "commit deadline");
        vm.assertEq(d.revealDeadline, d.commitDeadline + COURT_REVEAL, "reveal deadline");
        for (uint256 i = 0; i < d.referees.length; i++) {
            vm.assertTrue(d.referees[i] != referees[0], "challenger not drawn");
        }
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyDrawn.selector, disputeId));
        court.drawReferees(disputeId);
        judge(disputeId, answers3(ANS_RIGHT, ANS_RIGHT, ANS_RIGHT));
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyResolved.selector, disputeId));
        court.drawReferees(disputeId);
    }

    function test_commitRevealResolve_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__DisputeNotFound.selector, uint256(1)));
        court.resolveDispute(1);
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        uint256 id = court.getCase(caseId).disputeId;
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotDrawn.selector, id));
        court.commitVerdict(id, bytes32("x"));
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotDrawn.selector, id));
        court.revealVerdict(id, RIGHT, FUEL, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotDrawn.selector, id));
        court.resolveDispute(id);
        VerificationCourt.DisputeView memory d = drawNext(id);
        address r = d.referees[0];

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReferee.selector, stranger));
        court.commitVerdict(id, bytes32("x"));
        vm.prank(r);
        vm.expectRevert(VerificationCourt.Court__EmptyCommitment.selector);
        court.commitVerdict(id, bytes32(0));
        vm.expectEmit(address(court));
        emit VerificationCourt.RefereeCommitted(id, r, commitment(RIGHT, FUEL, refereeSalt(id, r), r));
        commitVerdictAs(id, r, ANS_RIGHT);
        vm.assertEq(court.voteOf(id, r).commitment, commitment(RIGHT, FUEL, refereeSalt(id, r), r), "vote");
        vm.prank(r);
        vm.expectRevert(VerificationCourt.Court__AlreadyCommitted.selector);
        court.commitVerdict(id, bytes32("y"));
        bytes32 salt = refereeSalt(id, r);
        // Others have not committed and the window is open: no reveal yet, no resolution.
        vm.prank(r);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__TooEarly.selector, d.commitDeadline));
        court.revealVerdict(id, RIGHT, FUEL, salt);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__TooEarly.selector, d.revealDeadline));
        court.resolveDispute(id);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__NotReferee.selector, stranger));
        court.revealVerdict(id, RIGHT, FUEL, salt);

        vm.warp(d.commitDeadline + 1);
        vm.prank(d.referees[1]);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__OutsideWindow.selector, d.commitDeadline));
        court.commitVerdict(id, bytes32("late"));
        vm.prank(r);
        vm.expectRevert(VerificationCourt.Court__CommitmentMismatch.selector);
        court.revealVerdict(id, WRONG, FUEL, salt);
        // A referee that never committed cannot reveal anything.
        vm.prank(d.referees[1]);
        vm.expectRevert(VerificationCourt.Court__CommitmentMismatch.selector);
        court.revealVerdict(id, RIGHT, FUEL, salt);
        vm.expectEmit(address(court));
        emit VerificationCourt.RefereeRevealed(id, r, RIGHT, FUEL);
        revealVerdictAs(id, r, ANS_RIGHT);
        vm.assertTrue(court.voteOf(id, r).revealed, "revealed");
        vm.prank(r);
        vm.expectRevert(VerificationCourt.Court__CommitmentMismatch.selector);
        court.revealVerdict(id, RIGHT, FUEL, salt);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__TooEarly.selector, d.revealDeadline));
        court.resolveDispute(id);

        vm.warp(d.revealDeadline + 1);
        vm.prank(r);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__OutsideWindow.selector, d.revealDeadline));
        court.revealVerdict(id, RIGHT, FUEL, salt);
        // One of three revealed: no strict majority.
        court.resolveDispute(id);
        vm.assertTrue(court.getDispute(id).resolved, "resolved");
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyResolved.selector, id));
        court.resolveDispute(id);
        vm.prank(r);
        vm.expectRevert(abi.encodeWithSelector(VerificationCourt.Court__AlreadyResolved.selector, id));
        court.commitVerdict(id, bytes32("x"));
        assertAllSettled();
    }

    function test_dispute_withoutEligibleRefereesResolvesAtOnceUndetermined() public {
        uint256 jobId = revealedJob(provider, ANS_RIGHT);
        uint256 caseId = challengeAs(referees[0], jobId, ANS_WRONG);
        for (uint256 i = 1; i < referees.length; i++) {
            vm.prank(referees[i]);
            court.leavePool();
        }
        uint256 c = token.balanceOf(referees[0]);
        uint256 req = token.balanceOf(requester);
        judge(court.getCase(caseId).disputeId, new uint8[](0));
        vm.assertEq(court.getDispute(1).referees.length, 0, "nobody to draw");
        vm.assertEq(token.balanceOf(referees[0]), c + CHALLENGE_BOND, "bond back");
        vm.assertEq(token.balanceOf(requester), req + ESCROW, "escrow back");
        assertAllSettled();
    }

    // ---------------------------------------------------------------- claim and reentrancy

    function test_claim_revertsWhenNothingIsOwed() public {
        vm.prank(stranger);
        vm.expectRevert(VerificationCourt.Court__NothingOwed.selector);
        court.claim();
    }

    /// @dev A court over a token with receiver callbacks, and a contract pool member.
    function hookedCourt() internal returns (HookToken hook, VerificationCourt hooked, ReentrantActor actor) {
        hook = new HookToken();
        ProviderRegistry reg = new ProviderRegistry(IERC20(address(hook)), address(this), defaultParameters());
        JobMarket m = new JobMarket(IERC20(address(hook)), reg, address(this), defaultConfig());
        hooked = new VerificationCourt(m, address(this), courtConfig());
        actor = new ReentrantActor();
        hook.mint(address(actor), MIN_STAKE + BOND);
        actor.execute(address(hook), abi.encodeCall(IERC20.approve, (address(reg), MIN_STAKE)));
        actor.execute(address(reg), abi.encodeCall(ProviderRegistry.stake, (MIN_STAKE)));
        actor.execute(address(hook), abi.encodeCall(IERC20.approve, (address(hooked), BOND)));
        actor.execute(address(hooked), abi.encodeCall(VerificationCourt.joinPool, ()));
        actor.execute(address(hook), abi.encodeCall(HookToken.registerHook, ()));
    }

    function test_claim_collectsARefusedPayment() public {
        (HookToken hook, VerificationCourt hooked, ReentrantActor actor) = hookedCourt();
        actor.setRefusePayments(true);
        vm.expectEmit(address(hooked));
        emit VerificationCourt.PaymentDeferred(address(actor), BOND);
        actor.execute(address(hooked), abi.encodeCall(VerificationCourt.leavePool, ()));
        vm.assertEq(hooked.owed(address(actor)), BOND, "owed");
        vm.assertEq(hook.balanceOf(address(hooked)), BOND, "kept for the claim");
        actor.setRefusePayments(false);
        vm.expectEmit(address(hooked));
        emit VerificationCourt.Claimed(address(actor), BOND);
        actor.execute(address(hooked), abi.encodeCall(VerificationCourt.claim, ()));
        vm.assertEq(hooked.owed(address(actor)), 0, "nothing owed");
        vm.assertEq(hook.balanceOf(address(actor)), BOND, "claimed");
        vm.assertEq(hook.balanceOf(address(hooked)), 0, "court empty");
    }

    function test_leavePool_rejectsReentryFromThePaymentCallback() public {
        (HookToken hook, VerificationCourt hooked, ReentrantActor actor) = hookedCourt();
        bytes memory leaveCall = abi.encodeCall(VerificationCourt.leavePool, ());
        actor.arm(address(hooked), leaveCall);
        actor.execute(address(hooked), leaveCall);
        vm.assertTrue(actor.reentryAttempted(), "re-entry attempted");
        vm.assertFalse(actor.reentrySucceeded(), "re-entry refused");
        vm.assertEq(
            actor.reentryReturn(),
            abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector),
            "refused by the guard"
        );
        vm.assertEq(hook.balanceOf(address(actor)), BOND, "bond returned once");
    }
}
