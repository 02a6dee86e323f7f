// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../contracts/JobMarket.sol";
import {VerificationCourt} from "../../contracts/VerificationCourt.sol";
import {CourtTest} from "./CourtTest.sol";
import {vm} from "./Vm.sol";

/// @notice Fuzz tests of the VerificationCourt over random court rules (bonds, fees, penalty and
/// reward shares, number of referees), random party answers and random referee behaviour
/// (right, wrong result, wrong fuel, absent, committed but never revealed). After every run:
/// the court holds exactly its members' bonds, open challenge bonds, held audit fees and owed
/// payments; every case is Settled with no collateral or escrow left; the side a referee majority
/// agrees with is never slashed; and a requester never pays for a result the referees found wrong.
contract VerificationCourtFuzzTest is CourtTest {
    uint256 internal constant ESCROW = MAX_PRICE * MAX_FUEL;

    /// @dev What the requester pays for a job revealed with answer `a` (its fuel x price).
    function paidFor(uint8 a) internal pure returns (uint256) {
        (, uint64 fuel) = answerOf(a);
        return uint256(fuel) * PRICE;
    }

    /// @dev What the provider receives for it, after the protocol fee.
    function netFor(uint8 a) internal pure returns (uint256) {
        return paidFor(a) - (paidFor(a) * FEE_BPS) / 10_000;
    }

    /// Balances and stakes before a case settles (storage, to keep the fuzz tests within the stack).
    uint256 internal req0;
    uint256 internal p0;
    uint256 internal stake0;
    uint256 internal ch0;
    uint256 internal a0;

    /// @dev Random court rules within sane ranges (up to 7 referees: more than the pool holds).
    function fuzzConfig(uint256 s) internal pure returns (VerificationCourt.Config memory c) {
        c = courtConfig();
        c.refereeBond = bound(uint256(keccak256(abi.encode(s, 0))), 0, 50 ether);
        c.challengeBond = bound(uint256(keccak256(abi.encode(s, 1))), 0, 50 ether);
        c.refereeFee = bound(uint256(keccak256(abi.encode(s, 2))), 0, 5 ether);
        c.auditFee = bound(uint256(keccak256(abi.encode(s, 3))), 0, 5 ether);
        c.referees = uint8(bound(uint256(keccak256(abi.encode(s, 4))), 1, 7));
        c.penaltyBps = uint16(bound(uint256(keccak256(abi.encode(s, 5))), 0, 10_000));
        c.challengerRewardBps = uint16(bound(uint256(keccak256(abi.encode(s, 6))), 0, 10_000));
    }

    /// @dev n referee behaviours (ABSENT, ANS_RIGHT, ANS_WRONG, ANS_FUEL, COMMIT_ONLY), one byte each.
    function answersFrom(uint256 seed, uint256 n) internal pure returns (uint8[] memory out) {
        out = new uint8[](n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = uint8((seed >> (8 * i)) % 5);
        }
    }

    function refereeBalances() internal view returns (uint256[] memory b) {
        b = new uint256[](referees.length);
        for (uint256 i = 0; i < referees.length; i++) {
            b[i] = token.balanceOf(referees[i]);
        }
    }

    /// @dev Referees that revealed the truth (or anything, without a majority) keep their bond and
    /// lose no tokens; the others forfeit `penaltyBps` of it and leave the pool with the rest.
    function checkReferees(address[] memory drawn, uint8[] memory answers, uint256[] memory before) internal view {
        (bool determined, uint8 truth) = majorityOf(answers, drawn.length);
        uint256 penalty = (BOND * court.config().penaltyBps) / 10_000;
        for (uint256 i = 0; i < drawn.length; i++) {
            uint256 j;
            while (referees[j] != drawn[i]) j++;
            bool revealed = answers[i] != ABSENT && answers[i] != COMMIT_ONLY;
            VerificationCourt.Member memory m = court.memberOf(drawn[i]);
            if (revealed && (!determined || answers[i] == truth)) {
                vm.assertEq(m.bond, BOND, "right referee keeps its bond");
                vm.assertGe(token.balanceOf(drawn[i]), before[j], "right referee loses nothing");
            } else {
                vm.assertFalse(m.active, "wrong or absent referee leaves the pool");
                vm.assertEq(token.balanceOf(drawn[i]), before[j] + BOND - penalty, "gets its bond less the penalty");
            }
        }
    }

    // ---------------------------------------------------------------- challenge

    function testFuzz_challenge(uint256 cfgSeed, uint8 providerSeed, uint8 challengerSeed, uint256 answersSeed)
        public
    {
        VerificationCourt.Config memory cfg = fuzzConfig(cfgSeed);
        court.setConfig(cfg);
        vm.prank(provider2);
        court.joinPool();
        uint8 pa = uint8(1 + providerSeed % 3);
        uint8 ca = uint8(1 + challengerSeed % 3);
        if (ca == pa) ca = uint8(1 + ca % 3);
        uint256 jobId = revealedJob(provider, pa);
        req0 = token.balanceOf(requester);
        p0 = token.balanceOf(provider);
        stake0 = registry.stakeOf(provider);
        ch0 = token.balanceOf(provider2);
        uint256[] memory refs0 = refereeBalances();

        uint256 caseId = challengeAs(provider2, jobId, ca);
        assertCourtBacked();
        uint8[] memory answers = answersFrom(answersSeed, 7);
        address[] memory drawn = judge(court.getCase(caseId).disputeId, answers);
        vm.assertEq(drawn.length, cfg.referees < REFEREES ? cfg.referees : REFEREES, "drawn up to the pool");
        (bool determined, uint8 truth) = majorityOf(answers, drawn.length);
        checkParties(determined, truth, pa);
        if (!determined || truth == ca) {
            vm.assertGe(token.balanceOf(provider2), ch0, "right (or undecided) challenger keeps its bond");
        } else {
            vm.assertEq(token.balanceOf(provider2), ch0 - cfg.challengeBond, "wrong challenger loses its bond");
        }
        checkReferees(drawn, answers, refs0);
        assertAllSettled();
    }

    /// @dev After a dispute over `provider`'s job (answer `pa`): a provider the majority agrees with
    /// is paid and never slashed and the requester pays exactly its work; otherwise the provider is
    /// unpaid (slashed if the majority found another result) and the requester pays nothing.
    function checkParties(bool determined, uint8 truth, uint8 pa) internal view {
        if (determined && truth == pa) {
            // The provider was right: paid (plus what is left of the pot), never slashed; the
            // requester pays exactly the work.
            vm.assertGe(token.balanceOf(provider), p0 + netFor(pa), "right provider paid");
            vm.assertEq(registry.stakeOf(provider), stake0, "right provider not slashed");
            vm.assertEq(token.balanceOf(requester), req0 + ESCROW - paidFor(pa), "requester pays the work");
        } else {
            // Wrong or undetermined: the provider is not paid, and the requester pays nothing.
            vm.assertEq(token.balanceOf(provider), p0, "provider unpaid");
            vm.assertEq(registry.stakeOf(provider), determined ? stake0 - MIN_COLLATERAL : stake0, "slashed iff wrong");
            vm.assertGe(token.balanceOf(requester), req0 + ESCROW, "requester pays nothing");
        }
    }

    // ---------------------------------------------------------------- replicated

    /// Replicated case under test (storage, to keep within the stack).
    address[] internal reps;
    uint256[] internal repJobs;
    uint8[] internal repAnswers;
    uint256[] internal repBal0;
    uint256[] internal repStake0;

    function testFuzz_replicated(uint256 cfgSeed, uint256 replicaSeed, uint256 answersSeed, bool three) public {
        court.setConfig(fuzzConfig(cfgSeed));
        uint256 k = three ? 3 : 2;
        reps = [provider, provider2, provider3];
        for (uint256 i = 0; i < k; i++) {
            repJobs.push(awardedJob(reps[i]));
            repAnswers.push(uint8((replicaSeed >> (8 * i)) % 4));
        }
        uint256 caseId = openReplicated(repJobs);
        req0 = token.balanceOf(requester);
        (uint256 revealed, bool agree) = revealReplicas();
        court.settleCase(caseId);

        bool disputed = !(revealed >= 2 && agree) && revealed > 0;
        vm.assertEq(court.getCase(caseId).disputeId != 0, disputed, "disputed iff replicas disagree or one is left");
        bool determined;
        uint8 truth;
        if (disputed) {
            uint256[] memory refs0 = refereeBalances();
            uint8[] memory answers = answersFrom(answersSeed, 7);
            address[] memory drawn = judge(court.getCase(caseId).disputeId, answers);
            (determined, truth) = majorityOf(answers, drawn.length);
            checkReferees(drawn, answers, refs0);
        }
        (uint256 paidCount, uint256 paidTotal) = checkReplicas(disputed, determined, truth);
        if (disputed && !determined) vm.assertEq(paidCount, 0, "no majority: nobody paid");
        // The requester pays only for replicas found right, and gets at least the rest back.
        vm.assertGe(token.balanceOf(requester), req0 + k * ESCROW - paidTotal, "requester pays only verified work");
        assertAllSettled();
    }

    /// @dev Replicas commit, then reveal their answers (ABSENT: never commits, expired after its
    /// deadline, which is also what opens the others' reveals).
    function revealReplicas() internal returns (uint256 revealed, bool agree) {
        agree = true;
        uint8 firstAnswer;
        uint256 k = repJobs.length;
        bool someAbsent;
        for (uint256 i = 0; i < k; i++) {
            repBal0.push(token.balanceOf(reps[i]));
            repStake0.push(registry.stakeOf(reps[i]));
            if (repAnswers[i] == ABSENT) someAbsent = true;
            else commitAnswer(reps[i], repJobs[i], repAnswers[i]);
        }
        if (someAbsent) vm.warp(vm.getBlockTimestamp() + COMMIT_WINDOW + 1);
        for (uint256 i = 0; i < k; i++) {
            if (repAnswers[i] == ABSENT) continue;
            revealCommitted(reps[i], repJobs[i], repAnswers[i]);
            if (revealed == 0) firstAnswer = repAnswers[i];
            else if (repAnswers[i] != firstAnswer) agree = false;
            revealed++;
        }
        for (uint256 i = 0; i < k; i++) {
            if (repAnswers[i] == ABSENT) market.reclaimExpired(repJobs[i]);
        }
    }

    /// @dev Each replica is paid exactly iff verified and slashed iff it expired or the referee
    /// majority found another result; an honest replica is paid when that majority is honest.
    function checkReplicas(bool disputed, bool determined, uint8 truth)
        internal
        view
        returns (uint256 paidCount, uint256 paidTotal)
    {
        for (uint256 i = 0; i < repJobs.length; i++) {
            uint256 paid = checkReplica(i, disputed, determined, truth);
            if (paid > 0) {
                paidCount++;
                paidTotal += paid;
            }
        }
    }

    /// @dev Replica i got exactly its pay or nothing (never pot money), lost its collateral iff it
    /// was slashed, and an honest replica is paid when the referee majority is honest. Returns
    /// what the requester paid for it (0: not paid).
    function checkReplica(uint256 i, bool disputed, bool determined, uint8 truth) internal view returns (uint256) {
        uint8 a = repAnswers[i];
        bool paid = a != ABSENT && (!disputed || (determined && a == truth));
        bool slashed = a == ABSENT || (disputed && determined && a != truth);
        vm.assertEq(token.balanceOf(reps[i]), repBal0[i] + (paid ? netFor(a) : 0), "replica paid iff verified");
        vm.assertEq(registry.stakeOf(reps[i]), repStake0[i] - (slashed ? MIN_COLLATERAL : 0), "slashed iff wrong");
        if (a == ANS_RIGHT && (!disputed || (determined && truth == ANS_RIGHT))) {
            vm.assertTrue(paid && !slashed, "honest replica paid when the referee majority is honest");
        }
        return paid ? paidFor(a) : 0;
    }

    // ---------------------------------------------------------------- audit

    uint256 internal auditFee;
    uint256 internal auditPenalty;
    uint8 internal providerAnswer;

    function testFuzz_audit(
        uint256 cfgSeed,
        uint16 bpsSeed,
        bytes32 seed,
        uint8 providerSeed,
        uint8 auditorSeed,
        uint256 answersSeed
    ) public {
        vm.assume(seed != bytes32(0));
        (uint256 caseId, bool selected) = drawnAudit(cfgSeed, bpsSeed, seed, providerSeed);
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        if (!selected) {
            vm.assertTrue(c.status == VerificationCourt.CaseStatus.Settled, "not selected: settled at once");
            vm.assertEq(token.balanceOf(provider), p0 + netFor(providerAnswer), "paid");
            vm.assertEq(token.balanceOf(requester), req0 + ESCROW - paidFor(providerAnswer) + auditFee, "fee refunded");
            assertAllSettled();
            return;
        }
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "selected: audited");
        uint256[] memory refs0 = refereeBalances();
        uint8 aa = auditorSeed % 5;
        if (!auditorChecks(caseId, aa)) return;
        // A mismatch: provider and auditor are judged by other referees.
        c = court.getCase(caseId);
        vm.assertTrue(c.status == VerificationCourt.CaseStatus.Disputed, "mismatch disputed");
        uint8[] memory answers = answersFrom(answersSeed, 7);
        address[] memory drawn = judge(c.disputeId, answers);
        for (uint256 i = 0; i < drawn.length; i++) {
            vm.assertTrue(drawn[i] != c.auditor, "auditor not its own judge");
        }
        (bool determined, uint8 truth) = majorityOf(answers, drawn.length);
        checkParties(determined, truth, providerAnswer);
        vm.assertEq(
            court.memberOf(c.auditor).bond, determined && truth != aa ? BOND - auditPenalty : BOND, "auditor penalized iff wrong"
        );
        checkReferees(drawn, answers, refereeBalancesAfterAudit(refs0, c.auditor, auditFee));
        assertAllSettled();
    }

    /// @dev Opens an audit at a random probability on a job `provider` reveals, arms the draw,
    /// sets the seed block's hash to `seed` and draws; checks the selection against the formula.
    function drawnAudit(uint256 cfgSeed, uint16 bpsSeed, bytes32 seed, uint8 providerSeed)
        internal
        returns (uint256 caseId, bool selected)
    {
        VerificationCourt.Config memory cfg = fuzzConfig(cfgSeed);
        court.setConfig(cfg);
        auditFee = cfg.auditFee;
        auditPenalty = (BOND * cfg.penaltyBps) / 10_000;
        uint16 bps = uint16(bound(bpsSeed, 1, 10_000));
        providerAnswer = uint8(1 + providerSeed % 3);
        uint256 jobId = awardedJob(provider);
        vm.prank(requester);
        caseId = court.openAudit(jobId, bps);
        revealAnswer(provider, jobId, providerAnswer);
        req0 = token.balanceOf(requester);
        p0 = token.balanceOf(provider);
        stake0 = registry.stakeOf(provider);
        vm.prank(requester);
        court.drawAudit(caseId);
        uint64 seedBlock = court.getCase(caseId).seedBlock;
        vm.roll(vm.getBlockNumber() + 1);
        vm.setBlockhash(seedBlock, seed);
        selected = uint256(keccak256(abi.encode(uint256(seed), caseId, market.getJob(jobId).commitment))) % 10_000 < bps;
        vm.prank(requester);
        court.drawAudit(caseId);
    }

    /// @dev The auditor gives answer `aa`; checks the absent and agreeing outcomes. Returns true
    /// when the auditor's finding differs from the provider's (a follow-up dispute).
    function auditorChecks(uint256 caseId, uint8 aa) internal returns (bool mismatch) {
        VerificationCourt.CaseView memory c = court.getCase(caseId);
        a0 = token.balanceOf(c.auditor);
        uint8[] memory one = new uint8[](1);
        one[0] = aa;
        judge(c.disputeId, one);
        if (aa == ABSENT || aa == COMMIT_ONLY) {
            vm.assertEq(token.balanceOf(provider), p0 + netFor(providerAnswer), "result stands unaudited");
            vm.assertEq(
                token.balanceOf(requester),
                req0 + ESCROW - paidFor(providerAnswer) + auditFee + auditPenalty,
                "fee and penalty back"
            );
            vm.assertEq(token.balanceOf(c.auditor), a0 + BOND - auditPenalty, "absent auditor leaves with the rest");
            assertAllSettled();
            return false;
        }
        vm.assertEq(token.balanceOf(c.auditor), a0 + auditFee, "auditor paid whatever it found");
        if (aa == providerAnswer) {
            vm.assertTrue(statusOfCase(caseId) == VerificationCourt.CaseStatus.Settled, "agreement settles");
            vm.assertEq(token.balanceOf(provider), p0 + netFor(providerAnswer), "paid");
            vm.assertEq(token.balanceOf(requester), req0 + ESCROW - paidFor(providerAnswer), "requester pays the work");
            assertAllSettled();
            return false;
        }
        return true;
    }

    /// @dev Referee balances before the follow-up dispute: the auditor already got the fee.
    function refereeBalancesAfterAudit(uint256[] memory refs0, address auditor, uint256 fee)
        internal
        view
        returns (uint256[] memory b)
    {
        b = new uint256[](refs0.length);
        for (uint256 i = 0; i < refs0.length; i++) {
            b[i] = refs0[i] + (referees[i] == auditor ? fee : 0);
        }
    }
}
