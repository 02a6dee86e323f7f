// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../contracts/JobMarket.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @notice Fuzz tests of the market's money rules over random prices, fuel, fees, collateral
/// rates and timings: exact payment and refund, the maxFuel x price cap, whole refunds on
/// expiry and cancellation, and nothing locked after any terminal state.
contract JobMarketFuzzTest is BazaarTest {
    bytes32 internal constant RESULT = keccak256("result");

    struct Terms {
        uint256 maxPrice;
        uint64 maxFuel;
        uint256 price;
        uint256 escrow;
    }

    /// @dev Random but affordable terms: escrow at most the requester's faucet (1e24).
    function randomTerms(uint256 maxPriceSeed, uint256 maxFuelSeed, uint256 priceSeed)
        internal
        pure
        returns (Terms memory t)
    {
        t.maxPrice = bound(maxPriceSeed, 1, 1e15);
        t.maxFuel = uint64(bound(maxFuelSeed, 1, 1e9));
        t.price = bound(priceSeed, 0, t.maxPrice);
        t.escrow = t.maxPrice * t.maxFuel;
    }

    /// @dev Tops up `who`'s stake so an award at `price` can lock its collateral.
    function ensureCollateral(address who, uint256 price, uint64 maxFuel) internal {
        uint256 collateral = market.collateralFor(price, maxFuel);
        uint256 available = registry.availableOf(who);
        if (collateral > available) {
            token.mint(who, collateral - available);
            stakeAs(who, collateral - available);
        }
    }

    /// @dev Fuzz: finalize pays exactly fuelUsed x price (never more than maxFuel x price), splits
    /// the fee exactly, refunds the rest of the escrow to the wei, and leaves nothing locked.
    function testFuzz_finalizePaysExactlyAndRefundsTheRest(
        uint256 maxPriceSeed,
        uint256 maxFuelSeed,
        uint256 priceSeed,
        uint256 fuelSeed,
        uint16 feeSeed,
        uint16 collateralSeed,
        bool byStranger
    ) public {
        Terms memory t = randomTerms(maxPriceSeed, maxFuelSeed, priceSeed);
        uint16 fee = uint16(bound(feeSeed, 0, market.MAX_FEE_BPS()));
        market.setFee(treasury, fee);
        market.setCollateralPolicy(MIN_COLLATERAL, uint16(bound(collateralSeed, 0, 10_000)));
        uint64 fuel = uint64(bound(fuelSeed, 0, t.maxFuel));
        ensureCollateral(provider, t.price, t.maxFuel);

        uint256 requesterBefore = token.balanceOf(requester);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 stakeBefore = registry.stakeOf(provider);
        uint256 jobId = createJob(t.maxPrice, t.maxFuel);
        runToRevealed(jobId, t.price, fuel);
        if (byStranger) {
            vm.warp(vm.getBlockTimestamp() + CHALLENGE_WINDOW);
            vm.prank(stranger);
        } else {
            vm.prank(requester);
        }
        market.finalize(jobId);

        uint256 paid = uint256(fuel) * t.price;
        uint256 feePaid = paid * fee / 10_000;
        uint256 providerGot = token.balanceOf(provider) - providerBefore;
        vm.assertEq(providerGot + token.balanceOf(treasury), paid, "provider + treasury == fuelUsed x price");
        vm.assertEq(token.balanceOf(treasury), feePaid, "fee exact");
        vm.assertLe(providerGot, uint256(t.maxFuel) * t.price, "never more than maxFuel x price");
        vm.assertEq(requesterBefore - token.balanceOf(requester), paid, "requester paid exactly the bill");
        vm.assertEq(registry.stakeOf(provider), stakeBefore, "collateral back in full");
        assertNothingLocked();
    }

    /// @dev Fuzz: an open job that expires or is cancelled refunds the whole escrow.
    function testFuzz_openJobRefundsInFull(uint256 maxPriceSeed, uint256 maxFuelSeed, uint32 lateBy, bool cancel)
        public
    {
        Terms memory t = randomTerms(maxPriceSeed, maxFuelSeed, 0);
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createJob(t.maxPrice, t.maxFuel);
        vm.assertEq(before - token.balanceOf(requester), t.escrow, "escrow == maxPrice x maxFuel");
        if (cancel) {
            vm.prank(requester);
            market.cancelJob(jobId);
        } else {
            uint256 awardDeadline = market.getJob(jobId).awardDeadline;
            vm.warp(awardDeadline + 1 + uint256(lateBy));
            vm.prank(stranger);
            market.reclaimExpired(jobId);
        }
        vm.assertEq(token.balanceOf(requester), before, "whole escrow back");
        assertNothingLocked();
    }

    /// @dev Fuzz: a missed commit or reveal (random windows and lateness) refunds the whole escrow
    /// and hands the requester exactly the provider's collateral; before the deadline nothing expires.
    function testFuzz_missedDeadlineRefundsAndCompensates(
        uint256 maxPriceSeed,
        uint256 maxFuelSeed,
        uint256 priceSeed,
        uint32 commitWindow,
        uint32 revealWindow,
        uint32 early,
        uint32 lateBy,
        bool committed
    ) public {
        Terms memory t = randomTerms(maxPriceSeed, maxFuelSeed, priceSeed);
        ensureCollateral(provider, t.price, t.maxFuel);
        JobMarket.JobParams memory p = jobParams(t.maxPrice, t.maxFuel);
        p.commitWindow = uint32(bound(commitWindow, 1, 30 days));
        p.revealWindow = uint32(bound(revealWindow, 1, 30 days));
        uint256 before = token.balanceOf(requester);
        uint256 stakeBefore = registry.stakeOf(provider);
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        awardTo(jobId, PROVIDER_KEY, t.price);
        if (committed) commitAs(provider, jobId, RESULT, 0);
        uint256 collateral = market.getJob(jobId).collateral;
        uint64 deadline = market.getJob(jobId).deadline;
        vm.assertEq(
            deadline, vm.getBlockTimestamp() + (committed ? p.revealWindow : p.commitWindow), "deadline from the window"
        );

        vm.warp(vm.getBlockTimestamp() + bound(early, 0, deadline - vm.getBlockTimestamp()));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__NotExpired.selector, deadline));
        market.reclaimExpired(jobId);

        vm.warp(uint256(deadline) + 1 + lateBy);
        vm.prank(stranger);
        market.reclaimExpired(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Expired, "Expired");
        vm.assertEq(token.balanceOf(requester), before + collateral, "escrow back plus the collateral");
        vm.assertEq(stakeBefore - registry.stakeOf(provider), collateral, "provider lost exactly the collateral");
        assertNothingLocked();
    }

    /// @dev Fuzz: each phase accepts its action up to and including its deadline and refuses it after.
    function testFuzz_phaseDeadlinesAreExact(uint32 awardAfter, uint32 commitAfter, uint32 revealAfter) public {
        uint256 jobId = createDefaultJob();
        uint64 awardDeadline = market.getJob(jobId).awardDeadline;
        vm.warp(vm.getBlockTimestamp() + bound(awardAfter, 0, 2 * AWARD_WINDOW));
        uint64 expiry = uint64(vm.getBlockTimestamp());
        bytes memory sig = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, expiry);
        vm.prank(requester);
        if (vm.getBlockTimestamp() > awardDeadline) {
            vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, awardDeadline));
            market.award(jobId, provider, MAX_PRICE, expiry, sig);
            return;
        }
        market.award(jobId, provider, MAX_PRICE, expiry, sig);

        uint64 commitDeadline = market.getJob(jobId).deadline;
        vm.warp(vm.getBlockTimestamp() + bound(commitAfter, 0, 2 * COMMIT_WINDOW));
        bytes32 c = commitment(RESULT, 7, keccak256("salt"), provider);
        vm.prank(provider);
        if (vm.getBlockTimestamp() > commitDeadline) {
            vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, commitDeadline));
            market.commitResult(jobId, c);
            return;
        }
        market.commitResult(jobId, c);

        uint64 revealDeadline = market.getJob(jobId).deadline;
        vm.warp(vm.getBlockTimestamp() + bound(revealAfter, 0, 2 * REVEAL_WINDOW));
        vm.prank(provider);
        if (vm.getBlockTimestamp() > revealDeadline) {
            vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, revealDeadline));
            market.revealResult(jobId, RESULT, 7, keccak256("salt"));
            return;
        }
        market.revealResult(jobId, RESULT, 7, keccak256("salt"));
        vm.prank(requester);
        market.finalize(jobId);
        assertNothingLocked();
    }

    /// @dev Fuzz: a verifier settlement from any settleable state pays exactly fuelToPay x price,
    /// refunds the rest, and either releases the collateral or sends exactly it to the verifier.
    function testFuzz_verifierSettlementIsExact(
        uint256 maxPriceSeed,
        uint256 maxFuelSeed,
        uint256 priceSeed,
        uint256 fuelSeed,
        uint8 phase,
        bool atFault
    ) public {
        Terms memory t = randomTerms(maxPriceSeed, maxFuelSeed, priceSeed);
        market.grantRole(market.VERIFIER_ROLE(), verifier);
        ensureCollateral(provider, t.price, t.maxFuel);
        uint64 fuel = uint64(bound(fuelSeed, 0, t.maxFuel));
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 stakeBefore = registry.stakeOf(provider);
        uint256 jobId = createJob(t.maxPrice, t.maxFuel);
        awardTo(jobId, PROVIDER_KEY, t.price);
        phase = uint8(bound(phase, 0, 2));
        if (phase >= 1) commitAs(provider, jobId, RESULT, fuel);
        if (phase == 2) revealAs(provider, jobId, RESULT, fuel);
        uint256 collateral = market.getJob(jobId).collateral;
        vm.prank(verifier);
        market.settleByVerifier(jobId, fuel, atFault, "VERDICT", "");

        uint256 paid = uint256(fuel) * t.price;
        uint256 fee = paid * FEE_BPS / 10_000;
        vm.assertEq(token.balanceOf(provider) - providerBefore, paid - fee, "provider paid exactly");
        vm.assertEq(token.balanceOf(treasury), fee, "fee exact");
        vm.assertEq(requesterBefore - token.balanceOf(requester), paid, "requester billed exactly");
        vm.assertEq(token.balanceOf(verifier), atFault ? collateral : 0, "slash to the verifier, if any");
        vm.assertEq(stakeBefore - registry.stakeOf(provider), atFault ? collateral : 0, "stake lost iff at fault");
        assertNothingLocked();
    }

    /// @dev Fuzz: after a re-award the requester pays only the new provider's bill, and gets the
    /// first provider's collateral.
    function testFuzz_reawardBillsOnlyTheNewBid(
        uint256 maxPriceSeed,
        uint256 maxFuelSeed,
        uint256 price1Seed,
        uint256 price2Seed,
        uint256 fuelSeed
    ) public {
        Terms memory t = randomTerms(maxPriceSeed, maxFuelSeed, price1Seed);
        uint256 price2 = bound(price2Seed, 0, t.maxPrice);
        uint64 fuel = uint64(bound(fuelSeed, 0, t.maxFuel));
        ensureCollateral(provider, t.price, t.maxFuel);
        ensureCollateral(provider2, price2, t.maxFuel);
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createJob(t.maxPrice, t.maxFuel);
        awardTo(jobId, PROVIDER_KEY, t.price);
        uint256 collateral1 = market.getJob(jobId).collateral;
        vm.warp(market.getJob(jobId).deadline + 1);
        awardToAgain(jobId, price2);
        commitAs(provider2, jobId, RESULT, fuel);
        revealAs(provider2, jobId, RESULT, fuel);
        vm.prank(requester);
        market.finalize(jobId);
        vm.assertEq(
            token.balanceOf(requester) + uint256(fuel) * price2, before + collateral1, "billed the new bid only"
        );
        assertNothingLocked();
    }

    function awardToAgain(uint256 jobId, uint256 price) internal {
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(PROVIDER2_KEY, jobId, provider2, price, expiry);
        vm.prank(requester);
        market.reaward(jobId, provider2, price, expiry, sig);
    }

    /// @dev Fuzz: collateralFor is max(minCollateral, price x maxFuel x bps / 10 000), capped at 2^96-1.
    function testFuzz_collateralFor(uint96 price, uint64 maxFuel, uint16 bpsSeed, uint128 minimum) public {
        uint16 bps = uint16(bound(bpsSeed, 0, 10_000));
        market.setCollateralPolicy(minimum, bps);
        uint256 proportional = uint256(price) * maxFuel * bps / 10_000;
        uint256 expected = proportional > minimum ? proportional : minimum;
        if (expected > type(uint96).max) expected = type(uint96).max;
        vm.assertEq(market.collateralFor(price, maxFuel), expected, "collateral policy");
    }
}
