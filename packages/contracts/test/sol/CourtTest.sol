// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../contracts/JobMarket.sol";
import {VerificationCourt} from "../../contracts/VerificationCourt.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @title CourtTest
/// @notice Shared fixture of the VerificationCourt tests: the BazaarTest contracts plus a court
/// holding the market's VERIFIER_ROLE (as `deployBazaar` wires it), five staked referees that
/// joined the pool, a third provider outside the pool, and helpers that walk cases and disputes
/// through their states and check that every token the court holds is accounted for.
abstract contract CourtTest is BazaarTest {
    uint256 internal constant BOND = 10 ether;
    uint256 internal constant CHALLENGE_BOND = 10 ether;
    uint256 internal constant REFEREE_FEE = 1 ether;
    uint256 internal constant AUDIT_FEE = 1 ether;
    uint32 internal constant COURT_COMMIT = 600;
    uint32 internal constant COURT_REVEAL = 300;
    uint32 internal constant AUDIT_GRACE = 300;
    uint256 internal constant PRICE = MAX_PRICE / 2;
    uint64 internal constant FUEL = 900;
    uint256 internal constant PROVIDER3_KEY = 0xC3;
    uint256 internal constant REFEREE_KEY0 = 0x5EF0;
    uint256 internal constant REFEREES = 5;

    bytes32 internal constant RIGHT = keccak256("right result");
    bytes32 internal constant WRONG = keccak256("wrong result");

    /// Answers a party or referee gives in the helpers: nothing, the right (result, fuel), a wrong
    /// result, the right result with the wrong fuel (which is a different answer), or a commitment
    /// that is never revealed.
    uint8 internal constant ABSENT = 0;
    uint8 internal constant ANS_RIGHT = 1;
    uint8 internal constant ANS_WRONG = 2;
    uint8 internal constant ANS_FUEL = 3;
    uint8 internal constant COMMIT_ONLY = 4;

    VerificationCourt internal court;
    address internal provider3;
    address[] internal referees;

    function setUp() public virtual override {
        super.setUp();
        court = new VerificationCourt(market, address(this), courtConfig());
        market.grantRole(market.VERIFIER_ROLE(), address(court));
        provider3 = vm.addr(PROVIDER3_KEY);
        vm.label(provider3, "provider3");
        holders.push(address(court));
        holders.push(provider3);
        // Room for several slashes without dropping below the least stake.
        stakeAs(provider, 400 ether);
        stakeAs(provider2, 400 ether);
        token.mint(provider3, FAUCET);
        stakeAs(provider3, 500 ether);
        address[] memory approvers = new address[](4);
        approvers[0] = requester;
        approvers[1] = provider;
        approvers[2] = provider2;
        approvers[3] = provider3;
        for (uint256 i = 0; i < approvers.length; i++) {
            vm.prank(approvers[i]);
            token.approve(address(court), type(uint256).max);
        }
        for (uint256 i = 0; i < REFEREES; i++) {
            address r = vm.addr(REFEREE_KEY0 + i);
            referees.push(r);
            holders.push(r);
            token.mint(r, FAUCET);
            stakeAs(r, MIN_STAKE);
            vm.startPrank(r);
            token.approve(address(court), type(uint256).max);
            court.joinPool();
            vm.stopPrank();
        }
    }

    function courtConfig() internal pure returns (VerificationCourt.Config memory) {
        return VerificationCourt.Config({
            refereeBond: BOND,
            challengeBond: CHALLENGE_BOND,
            refereeFee: REFEREE_FEE,
            auditFee: AUDIT_FEE,
            referees: 3,
            commitWindow: COURT_COMMIT,
            revealWindow: COURT_REVEAL,
            auditDrawGrace: AUDIT_GRACE,
            penaltyBps: 5_000,
            challengerRewardBps: 5_000
        });
    }

    // ---------------------------------------------------------------- answers

    function answerOf(uint8 a) internal pure returns (bytes32 resultHash, uint64 fuel) {
        if (a == ANS_WRONG) return (WRONG, FUEL);
        if (a == ANS_FUEL) return (RIGHT, FUEL + 1);
        return (RIGHT, FUEL);
    }

    function refereeSalt(uint256 disputeId, address referee) internal pure returns (bytes32) {
        return keccak256(abi.encode("referee salt", disputeId, referee));
    }

    // ---------------------------------------------------------------- jobs

    function keyOf(address who) internal view returns (uint256) {
        if (who == provider) return PROVIDER_KEY;
        if (who == provider2) return PROVIDER2_KEY;
        if (who == provider3) return PROVIDER3_KEY;
        for (uint256 i = 0; i < referees.length; i++) {
            if (referees[i] == who) return REFEREE_KEY0 + i;
        }
        revert("no key");
    }

    /// @dev A default job awarded to `who` at PRICE.
    function awardedJob(address who) internal returns (uint256 jobId) {
        jobId = createDefaultJob();
        awardTo(jobId, keyOf(who), PRICE);
    }

    /// @dev Commits and reveals answer `a` (ANS_*) for `who`'s job.
    function revealAnswer(address who, uint256 jobId, uint8 a) internal {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        commitAs(who, jobId, resultHash, fuel);
        revealAs(who, jobId, resultHash, fuel);
    }

    /// @dev Commits answer `a` for `who`'s job (replicas all commit before any reveals).
    function commitAnswer(address who, uint256 jobId, uint8 a) internal {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        commitAs(who, jobId, resultHash, fuel);
    }

    /// @dev Reveals answer `a` that `who` committed with {commitAnswer}.
    function revealCommitted(address who, uint256 jobId, uint8 a) internal {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        revealAs(who, jobId, resultHash, fuel);
    }

    /// @dev Two replicas commit, then reveal: the court bars reveals until every replica committed.
    function revealReplicaPair(uint256 a, uint8 answerA, uint256 b, uint8 answerB) internal {
        commitAnswer(provider, a, answerA);
        commitAnswer(provider2, b, answerB);
        revealCommitted(provider, a, answerA);
        revealCommitted(provider2, b, answerB);
    }

    function revealedJob(address who, uint8 a) internal returns (uint256 jobId) {
        jobId = awardedJob(who);
        revealAnswer(who, jobId, a);
    }

    // ---------------------------------------------------------------- court steps

    function openReplicated(uint256[] memory jobIds) internal returns (uint256 caseId) {
        vm.prank(requester);
        caseId = court.openReplicated(jobIds);
    }

    function pair(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }

    function challengeAs(address who, uint256 jobId, uint8 a) internal returns (uint256 caseId) {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        vm.prank(who);
        caseId = court.challenge(jobId, resultHash, fuel);
    }

    /// @dev Draws a dispute's referees in the next block (if not drawn yet).
    function drawNext(uint256 disputeId) internal returns (VerificationCourt.DisputeView memory d) {
        d = court.getDispute(disputeId);
        if (d.commitDeadline == 0) {
            vm.roll(vm.getBlockNumber() + 1);
            court.drawReferees(disputeId);
            d = court.getDispute(disputeId);
        }
    }

    function commitVerdictAs(uint256 disputeId, address referee, uint8 a) internal {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        vm.prank(referee);
        court.commitVerdict(disputeId, commitment(resultHash, fuel, refereeSalt(disputeId, referee), referee));
    }

    function revealVerdictAs(uint256 disputeId, address referee, uint8 a) internal {
        (bytes32 resultHash, uint64 fuel) = answerOf(a);
        vm.prank(referee);
        court.revealVerdict(disputeId, resultHash, fuel, refereeSalt(disputeId, referee));
    }

    /// @dev Draws (if needed), has the i-th drawn referee give `answers[i]`, and resolves (after
    /// the windows when someone does not reveal). Returns the drawn referees.
    function judge(uint256 disputeId, uint8[] memory answers) internal returns (address[] memory drawn) {
        VerificationCourt.DisputeView memory d = drawNext(disputeId);
        drawn = d.referees;
        bool missing;
        for (uint256 i = 0; i < drawn.length; i++) {
            uint8 a = i < answers.length ? answers[i] : ABSENT;
            if (a == ABSENT) {
                missing = true;
                continue;
            }
            if (a == COMMIT_ONLY) missing = true;
            commitVerdictAs(disputeId, drawn[i], a == COMMIT_ONLY ? ANS_RIGHT : a);
        }
        if (missing) vm.warp(d.commitDeadline + 1);
        for (uint256 i = 0; i < drawn.length; i++) {
            uint8 a = i < answers.length ? answers[i] : ABSENT;
            if (a == ABSENT || a == COMMIT_ONLY) continue;
            revealVerdictAs(disputeId, drawn[i], a);
        }
        if (missing) vm.warp(d.revealDeadline + 1);
        court.resolveDispute(disputeId);
    }

    function answers3(uint8 a, uint8 b, uint8 c) internal pure returns (uint8[] memory out) {
        out = new uint8[](3);
        out[0] = a;
        out[1] = b;
        out[2] = c;
    }

    /// @dev The (result, fuel) answer code a strict majority of `answers[0..r)` revealed, if any.
    function majorityOf(uint8[] memory answers, uint256 r) internal pure returns (bool, uint8) {
        for (uint8 code = ANS_RIGHT; code <= ANS_FUEL; code++) {
            uint256 same;
            for (uint256 i = 0; i < r; i++) {
                if (i < answers.length && answers[i] == code) same++;
            }
            if (same * 2 > r) return (true, code);
        }
        return (false, ABSENT);
    }

    // ---------------------------------------------------------------- checks

    function statusOfCase(uint256 caseId) internal view returns (VerificationCourt.CaseStatus) {
        return court.getCase(caseId).status;
    }

    /// @dev Every token the court holds is a pool member's bond, an open challenge bond, a held
    /// audit fee or a deferred payment; members outside the pool hold no bond; and the token supply
    /// is exactly what the known accounts, the market, the registry and the court hold.
    function assertCourtBacked() internal view {
        uint256 held;
        address[] memory members = court.pool();
        for (uint256 i = 0; i < members.length; i++) {
            VerificationCourt.Member memory m = court.memberOf(members[i]);
            vm.assertTrue(m.active, "pool lists active members");
            vm.assertEq(m.index, i, "member index");
            held += m.bond;
        }
        uint256 n = court.caseCount();
        for (uint256 id = 1; id <= n; id++) {
            VerificationCourt.CaseView memory c = court.getCase(id);
            held += c.bond + c.auditFee;
            if (c.status == VerificationCourt.CaseStatus.Settled) {
                vm.assertEq(c.bond + c.auditFee, 0, "a settled case holds nothing");
            }
        }
        for (uint256 i = 0; i < holders.length; i++) {
            held += court.owed(holders[i]);
            VerificationCourt.Member memory m = court.memberOf(holders[i]);
            if (!m.active) vm.assertEq(m.bond, 0, "no bond outside the pool");
        }
        vm.assertEq(token.balanceOf(address(court)), held, "court balance == bonds + challenge bonds + audit fees + owed");
        assertConservation();
    }

    /// @dev Every case settled, no referee left on duty, the market empty and no collateral locked.
    function assertAllSettled() internal view {
        uint256 n = court.caseCount();
        for (uint256 id = 1; id <= n; id++) {
            vm.assertTrue(statusOfCase(id) == VerificationCourt.CaseStatus.Settled, "case settled");
        }
        for (uint256 i = 0; i < referees.length; i++) {
            vm.assertEq(court.memberOf(referees[i]).duties, 0, "no duty left");
        }
        vm.assertEq(token.balanceOf(address(market)), 0, "market holds nothing");
        vm.assertEq(registry.lockedOf(provider) + registry.lockedOf(provider2) + registry.lockedOf(provider3), 0, "no collateral locked");
        assertCourtBacked();
    }
}
