// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IRevealGate} from "../../contracts/IRevealGate.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {HookToken} from "../contracts/HookToken.sol";
import {ReentrantActor} from "../contracts/ReentrantActor.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @notice JobMarket: every external function on its happy path and every revert path.
/// @dev A reveal gate the test opens and closes by hand, holding jobs through {JobMarket.holdGated}.
contract StubGate is IRevealGate {
    JobMarket internal immutable market;
    bool internal open;

    constructor(JobMarket market_) {
        market = market_;
    }

    function set(bool open_) external {
        open = open_;
    }

    function hold(uint256 jobId, uint64 floor) external {
        market.holdGated(jobId, floor);
    }

    function mayReveal(uint256) external view returns (bool) {
        return open;
    }
}

contract JobMarketTest is BazaarTest {
    bytes32 internal constant RESULT = keccak256("result");
    bytes32 internal constant SALT = keccak256("salt");
    uint256 internal constant ESCROW = MAX_PRICE * MAX_FUEL;

    // ---------------------------------------------------------------- construction and views

    function test_constructor_revertsOnZeroAddresses() public {
        JobMarket.MarketConfig memory config = defaultConfig();
        vm.expectRevert(JobMarket.JobMarket__ZeroAddress.selector);
        new JobMarket(IERC20(address(0)), registry, address(this), config);
        vm.expectRevert(JobMarket.JobMarket__ZeroAddress.selector);
        new JobMarket(IERC20(address(token)), ProviderRegistry(address(0)), address(this), config);
        vm.expectRevert(JobMarket.JobMarket__ZeroAddress.selector);
        new JobMarket(IERC20(address(token)), registry, address(0), config);
        config.treasury = address(0);
        vm.expectRevert(JobMarket.JobMarket__ZeroAddress.selector);
        new JobMarket(IERC20(address(token)), registry, address(this), config);
    }

    function test_constructor_revertsOnPolicyAboveCaps() public {
        JobMarket.MarketConfig memory config = defaultConfig();
        config.feeBps = 1_001;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__FeeTooHigh.selector, uint16(1_001)));
        new JobMarket(IERC20(address(token)), registry, address(this), config);
        config = defaultConfig();
        config.collateralBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__CollateralTooHigh.selector, uint16(10_001)));
        new JobMarket(IERC20(address(token)), registry, address(this), config);
    }

    function test_views_afterSetup() public view {
        vm.assertEq(address(market.token()), address(token), "token");
        vm.assertEq(address(market.registry()), address(registry), "registry");
        vm.assertEq(market.challengeWindow(), CHALLENGE_WINDOW, "challengeWindow");
        vm.assertEq(market.treasury(), treasury, "treasury");
        vm.assertEq(market.feeBps(), FEE_BPS, "feeBps");
        vm.assertEq(market.collateralBps(), COLLATERAL_BPS, "collateralBps");
        vm.assertEq(market.minCollateral(), MIN_COLLATERAL, "minCollateral");
        vm.assertEq(market.jobCount(), 0, "no jobs");
        vm.assertEq(market.MAX_FEE_BPS(), 1_000, "MAX_FEE_BPS");
        vm.assertEq(market.MAX_COLLATERAL_BPS(), 10_000, "MAX_COLLATERAL_BPS");
        vm.assertEq(market.SLASH_MISSED_COMMIT(), bytes32("MISSED_COMMIT"), "SLASH_MISSED_COMMIT");
        vm.assertEq(market.SLASH_MISSED_REVEAL(), bytes32("MISSED_REVEAL"), "SLASH_MISSED_REVEAL");
        vm.assertEq(market.VERIFIER_ROLE(), keccak256("VERIFIER_ROLE"), "VERIFIER_ROLE");
        vm.assertEq(
            market.BID_TYPEHASH(),
            keccak256("Bid(uint256 jobId,address provider,uint256 pricePerFuel,uint64 expiry)"),
            "BID_TYPEHASH"
        );
        vm.assertTrue(market.hasRole(market.DEFAULT_ADMIN_ROLE(), address(this)), "admin");
        vm.assertEq(market.getRoleAdmin(market.VERIFIER_ROLE()), market.DEFAULT_ADMIN_ROLE(), "role admin");
        vm.assertTrue(market.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
        vm.assertEq(market.owed(requester), 0, "nothing owed");
        JobMarket.JobView memory none = market.getJob(1);
        vm.assertTrue(none.status == JobMarket.Status.None, "missing job reads as None");
    }

    function test_bidDigest_isTheEip712HashOfTheBid() public view {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = market.eip712Domain();
        vm.assertEq(name, "Bazaar JobMarket", "domain name");
        vm.assertEq(version, "1", "domain version");
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                chainId,
                verifying
            )
        );
        vm.assertEq(market.domainSeparator(), domain, "domainSeparator");
        bytes32 structHash = keccak256(abi.encode(market.BID_TYPEHASH(), uint256(7), provider, uint256(9), uint64(11)));
        vm.assertEq(
            market.bidDigest(7, provider, 9, 11),
            keccak256(abi.encodePacked("\x19\x01", domain, structHash)),
            "bidDigest"
        );
    }

    function test_collateralFor_isTheLargerOfMinimumAndRateCappedAtUint96() public view {
        vm.assertEq(market.collateralFor(1, 1), MIN_COLLATERAL, "minimum");
        uint256 price = 1e15;
        vm.assertEq(market.collateralFor(price, MAX_FUEL), price * MAX_FUEL * COLLATERAL_BPS / 10_000, "rate");
        vm.assertEq(market.collateralFor(type(uint96).max, type(uint64).max), type(uint96).max, "capped");
    }

    // ---------------------------------------------------------------- createJob

    function test_createJob_escrowsAndRecordsTheTerms() public {
        JobMarket.JobParams memory p = jobParams(MAX_PRICE, MAX_FUEL);
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(address(market));
        emit JobMarket.JobCreated(
            1, requester, p.specHash, MAX_PRICE, MAX_FUEL, ESCROW, p.bidDeadline, p.awardDeadline
        );
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        vm.assertEq(jobId, 1, "first id");
        vm.assertEq(market.jobCount(), 1, "jobCount");
        vm.assertEq(token.balanceOf(requester), before - ESCROW, "escrow taken");
        vm.assertEq(token.balanceOf(address(market)), ESCROW, "escrow held");
        JobMarket.JobView memory j = market.getJob(jobId);
        vm.assertEq(j.requester, requester, "requester");
        vm.assertTrue(j.status == JobMarket.Status.Open, "Open");
        vm.assertEq(j.feeBps, FEE_BPS, "fee snapshot");
        vm.assertEq(j.commitWindow, COMMIT_WINDOW, "commitWindow");
        vm.assertEq(j.revealWindow, REVEAL_WINDOW, "revealWindow");
        vm.assertEq(j.specHash, p.specHash, "specHash");
        vm.assertEq(j.maxPricePerFuel, MAX_PRICE, "maxPrice");
        vm.assertEq(j.maxFuel, MAX_FUEL, "maxFuel");
        vm.assertEq(j.bidDeadline, p.bidDeadline, "bidDeadline");
        vm.assertEq(j.awardDeadline, p.awardDeadline, "awardDeadline");
        vm.assertEq(j.deadline, p.awardDeadline, "current deadline is the award deadline");
        vm.assertEq(j.escrow, ESCROW, "escrow");
        assertConservation();
    }

    function test_createJob_revertsOnInvalidParams() public {
        vm.startPrank(requester);
        vm.expectRevert(JobMarket.JobMarket__InvalidParams.selector);
        market.createJob(jobParams(0, MAX_FUEL));
        vm.expectRevert(JobMarket.JobMarket__InvalidParams.selector);
        market.createJob(jobParams(MAX_PRICE, 0));
        vm.expectRevert(JobMarket.JobMarket__InvalidParams.selector);
        market.createJob(jobParams(uint256(type(uint96).max) + 1, 1));
        vm.stopPrank();
    }

    function test_createJob_revertsOnInvalidDeadlines() public {
        vm.startPrank(requester);
        JobMarket.JobParams memory p = jobParams(MAX_PRICE, MAX_FUEL);
        p.awardDeadline = uint64(vm.getBlockTimestamp());
        p.bidDeadline = p.awardDeadline;
        vm.expectRevert(JobMarket.JobMarket__InvalidDeadlines.selector);
        market.createJob(p);
        p = jobParams(MAX_PRICE, MAX_FUEL);
        p.bidDeadline = p.awardDeadline + 1;
        vm.expectRevert(JobMarket.JobMarket__InvalidDeadlines.selector);
        market.createJob(p);
        p = jobParams(MAX_PRICE, MAX_FUEL);
        p.awardDeadline = uint64(type(uint48).max) + 1;
        vm.expectRevert(JobMarket.JobMarket__InvalidDeadlines.selector);
        market.createJob(p);
        p = jobParams(MAX_PRICE, MAX_FUEL);
        p.commitWindow = 0;
        vm.expectRevert(JobMarket.JobMarket__InvalidDeadlines.selector);
        market.createJob(p);
        p = jobParams(MAX_PRICE, MAX_FUEL);
        p.revealWindow = 0;
        vm.expectRevert(JobMarket.JobMarket__InvalidDeadlines.selector);
        market.createJob(p);
        vm.stopPrank();
    }

    function test_createJobWithPermit_approvesAndEscrowsInOneCall() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, address(market), ESCROW, deadline);
        vm.prank(stranger);
        uint256 jobId = market.createJobWithPermit(jobParams(MAX_PRICE, MAX_FUEL), ESCROW, deadline, v, r, s);
        vm.assertEq(market.getJob(jobId).requester, stranger, "requester");
        vm.assertEq(token.balanceOf(stranger), FAUCET - ESCROW, "escrow taken");
        vm.assertEq(token.allowance(stranger, address(market)), 0, "allowance spent");
    }

    function test_createJobWithPermit_survivesAFrontRunPermit() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, address(market), ESCROW, deadline);
        token.permit(stranger, address(market), ESCROW, deadline, v, r, s);
        vm.prank(stranger);
        uint256 jobId = market.createJobWithPermit(jobParams(MAX_PRICE, MAX_FUEL), ESCROW, deadline, v, r, s);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Open, "opened despite the used permit");
    }

    function test_createJobWithPermit_revertsWithABadPermitAndNoAllowance() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermitAs(PROVIDER_KEY, stranger, address(market), ESCROW, deadline);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, ESCROW)
        );
        market.createJobWithPermit(jobParams(MAX_PRICE, MAX_FUEL), ESCROW, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- cancelJob

    function test_cancelJob_refundsTheWholeEscrow() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        vm.expectEmit(address(market));
        emit JobMarket.JobCancelled(jobId, ESCROW);
        vm.prank(requester);
        market.cancelJob(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Cancelled, "Cancelled");
        vm.assertEq(token.balanceOf(requester), before, "full refund");
        assertNothingLocked();
    }

    function test_cancelJob_reverts() public {
        uint256 jobId = createDefaultJob();
        vm.prank(stranger);
        vm.expectRevert(JobMarket.JobMarket__NotRequester.selector);
        market.cancelJob(jobId);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(99)));
        market.cancelJob(99);
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Awarded)
        );
        market.cancelJob(jobId);
    }

    // ---------------------------------------------------------------- award

    function test_award_locksCollateralAndStartsTheCommitWindow() public {
        uint256 jobId = createDefaultJob();
        uint256 price = MAX_PRICE / 2;
        uint256 collateral = market.collateralFor(price, MAX_FUEL);
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(PROVIDER_KEY, jobId, provider, price, expiry);
        vm.expectEmit(address(market));
        emit JobMarket.JobAwarded(jobId, provider, price, collateral, uint64(vm.getBlockTimestamp() + COMMIT_WINDOW));
        vm.prank(requester);
        market.award(jobId, provider, price, expiry, sig);
        JobMarket.JobView memory j = market.getJob(jobId);
        vm.assertTrue(j.status == JobMarket.Status.Awarded, "Awarded");
        vm.assertEq(j.provider, provider, "provider");
        vm.assertEq(j.pricePerFuel, price, "price");
        vm.assertEq(j.collateral, collateral, "collateral");
        vm.assertEq(j.deadline, vm.getBlockTimestamp() + COMMIT_WINDOW, "commit deadline");
        vm.assertEq(registry.lockedOf(provider), collateral, "collateral locked");
    }

    function test_award_acceptsAnErc1271ContractBidder() public {
        uint256 jobId = createDefaultJob();
        ReentrantActor wallet = new ReentrantActor();
        token.mint(address(wallet), MIN_STAKE);
        wallet.execute(address(token), abi.encodeCall(IERC20.approve, (address(registry), MIN_STAKE)));
        wallet.execute(address(registry), abi.encodeCall(ProviderRegistry.stake, (MIN_STAKE)));
        uint64 expiry = bidExpiry();
        wallet.approveHash(market.bidDigest(jobId, address(wallet), MAX_PRICE, expiry));
        vm.prank(requester);
        market.award(jobId, address(wallet), MAX_PRICE, expiry, "");
        vm.assertEq(market.getJob(jobId).provider, address(wallet), "contract wallet awarded");
    }

    function test_award_revertsOnBadCallerStateOrTime() public {
        uint256 jobId = createDefaultJob();
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, expiry);
        vm.prank(stranger);
        vm.expectRevert(JobMarket.JobMarket__NotRequester.selector);
        market.award(jobId, provider, MAX_PRICE, expiry, sig);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(42)));
        market.award(42, provider, MAX_PRICE, expiry, sig);
        uint64 awardDeadline = market.getJob(jobId).awardDeadline;
        vm.warp(awardDeadline + 1);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, awardDeadline));
        market.award(jobId, provider, MAX_PRICE, expiry, sig);
    }

    function test_award_revertsOnABadBid() public {
        uint256 jobId = createDefaultJob();
        uint64 expiry = bidExpiry();
        uint64 past = uint64(vm.getBlockTimestamp() - 1);
        // Signatures first: signBid reads the digest from the market, which would consume expectRevert.
        bytes memory expired = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, past);
        bytes memory tooDear = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE + 1, expiry);
        bytes memory forged = signBid(PROVIDER2_KEY, jobId, provider, MAX_PRICE, expiry);
        bytes memory otherPrice = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, expiry);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__BidExpired.selector, past));
        market.award(jobId, provider, MAX_PRICE, past, expired);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__PriceAboveMax.selector, MAX_PRICE + 1, MAX_PRICE)
        );
        market.award(jobId, provider, MAX_PRICE + 1, expiry, tooDear);
        // Signed by someone else.
        vm.expectRevert(JobMarket.JobMarket__InvalidBidSignature.selector);
        market.award(jobId, provider, MAX_PRICE, expiry, forged);
        // Signed for another price.
        vm.expectRevert(JobMarket.JobMarket__InvalidBidSignature.selector);
        market.award(jobId, provider, MAX_PRICE / 2, expiry, otherPrice);
        // Garbage.
        vm.expectRevert(JobMarket.JobMarket__InvalidBidSignature.selector);
        market.award(jobId, provider, MAX_PRICE, expiry, hex"1234");
        vm.stopPrank();
    }

    function test_award_revertsWhenTheRegistryRefusesTheCollateral() public {
        uint256 jobId = createDefaultJob();
        // Not staked.
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(STRANGER_KEY, jobId, stranger, MAX_PRICE, expiry);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NotEligible.selector, stranger));
        market.award(jobId, stranger, MAX_PRICE, expiry, sig);
        // Collateral above the free stake.
        market.setCollateralPolicy(MIN_STAKE + 1, COLLATERAL_BPS);
        sig = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, expiry);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(
                ProviderRegistry.ProviderRegistry__InsufficientFreeStake.selector, provider, MIN_STAKE, MIN_STAKE + 1
            )
        );
        market.award(jobId, provider, MAX_PRICE, expiry, sig);
    }

    // ---------------------------------------------------------------- commitResult

    function test_commitResult_startsTheRevealWindow() public {
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        bytes32 c = commitment(RESULT, 100, SALT, provider);
        vm.expectEmit(address(market));
        emit JobMarket.ResultCommitted(jobId, provider, c, uint64(vm.getBlockTimestamp() + REVEAL_WINDOW));
        vm.prank(provider);
        market.commitResult(jobId, c);
        JobMarket.JobView memory j = market.getJob(jobId);
        vm.assertTrue(j.status == JobMarket.Status.Committed, "Committed");
        vm.assertEq(j.commitment, c, "commitment");
        vm.assertEq(j.deadline, vm.getBlockTimestamp() + REVEAL_WINDOW, "reveal deadline");
    }

    function test_commitResult_reverts() public {
        uint256 jobId = createDefaultJob();
        bytes32 c = commitment(RESULT, 100, SALT, provider);
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Open)
        );
        market.commitResult(jobId, c);
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.prank(provider2);
        vm.expectRevert(JobMarket.JobMarket__NotProvider.selector);
        market.commitResult(jobId, c);
        vm.prank(provider);
        vm.expectRevert(JobMarket.JobMarket__EmptyCommitment.selector);
        market.commitResult(jobId, bytes32(0));
        uint64 deadline = market.getJob(jobId).deadline;
        vm.warp(deadline + 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, deadline));
        market.commitResult(jobId, c);
    }

    // ---------------------------------------------------------------- revealResult

    function test_revealResult_recordsResultAndFuel() public {
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        commitAs(provider, jobId, RESULT, 1234);
        vm.expectEmit(address(market));
        emit JobMarket.ResultRevealed(jobId, provider, RESULT, 1234);
        revealAs(provider, jobId, RESULT, 1234);
        JobMarket.JobView memory j = market.getJob(jobId);
        vm.assertTrue(j.status == JobMarket.Status.Revealed, "Revealed");
        vm.assertEq(j.resultHash, RESULT, "resultHash");
        vm.assertEq(j.fuelUsed, 1234, "fuelUsed");
        vm.assertEq(j.revealedAt, vm.getBlockTimestamp(), "revealedAt");
    }

    function test_revealResult_reverts() public {
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Awarded)
        );
        market.revealResult(jobId, RESULT, 1, SALT);
        commitAs(provider, jobId, RESULT, 100);
        vm.prank(provider2);
        vm.expectRevert(JobMarket.JobMarket__NotProvider.selector);
        market.revealResult(jobId, RESULT, 100, SALT);
        // More fuel than the job allows is refused before the commitment is even checked.
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__FuelAboveMax.selector, MAX_FUEL + 1, MAX_FUEL));
        market.revealResult(jobId, RESULT, MAX_FUEL + 1, SALT);
        // Opening to anything other than the commitment.
        vm.prank(provider);
        vm.expectRevert(JobMarket.JobMarket__CommitmentMismatch.selector);
        market.revealResult(jobId, RESULT, 99, SALT);
        vm.prank(provider);
        vm.expectRevert(JobMarket.JobMarket__CommitmentMismatch.selector);
        market.revealResult(jobId, RESULT, 100, keccak256("other salt"));
        vm.prank(provider);
        vm.expectRevert(JobMarket.JobMarket__CommitmentMismatch.selector);
        market.revealResult(jobId, keccak256("other result"), 100, SALT);
        uint64 deadline = market.getJob(jobId).deadline;
        vm.warp(deadline + 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, deadline));
        market.revealResult(jobId, RESULT, 100, SALT);
    }

    // ---------------------------------------------------------------- finalize

    function test_finalize_byRequesterPaysExactlyAndRefundsTheRest() public {
        uint256 jobId = createDefaultJob();
        uint256 price = MAX_PRICE / 4;
        uint64 fuel = MAX_FUEL / 3;
        runToRevealed(jobId, price, fuel);
        uint256 paid = uint256(fuel) * price;
        uint256 fee = paid * FEE_BPS / 10_000;
        uint256 providerBefore = token.balanceOf(provider);
        uint256 requesterBefore = token.balanceOf(requester);
        vm.expectEmit(address(market));
        emit JobMarket.JobFinalized(jobId, provider, paid, fee, ESCROW - paid);
        vm.prank(requester);
        market.finalize(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Finalized, "Finalized");
        vm.assertEq(token.balanceOf(provider) - providerBefore, paid - fee, "provider paid less the fee");
        vm.assertEq(token.balanceOf(treasury), fee, "fee to the treasury");
        vm.assertEq(token.balanceOf(requester) - requesterBefore, ESCROW - paid, "rest refunded");
        ProviderRegistry.Reputation memory rep = registry.reputationOf(provider);
        vm.assertEq(rep.completed, 1, "completed");
        vm.assertEq(rep.unitsServed, fuel, "unitsServed");
        assertNothingLocked();
    }

    function test_finalize_byAnyoneOnlyAfterTheChallengeWindow() public {
        uint256 jobId = createDefaultJob();
        runToRevealed(jobId, MAX_PRICE, MAX_FUEL);
        uint256 endsAt = vm.getBlockTimestamp() + CHALLENGE_WINDOW;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__ChallengeWindowOpen.selector, endsAt));
        market.finalize(jobId);
        vm.warp(endsAt);
        vm.prank(stranger);
        market.finalize(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Finalized, "Finalized by a stranger");
        assertNothingLocked();
    }

    function test_finalize_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(5)));
        market.finalize(5);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        commitAs(provider, jobId, RESULT, 1);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Committed)
        );
        market.finalize(jobId);
    }

    function test_finalize_providerKeepsTheFeeWhenTheTreasuryIsGone() public {
        uint256 jobId = createDefaultJob();
        runToRevealed(jobId, MAX_PRICE, 1000);
        market.setFee(address(0), 0);
        uint256 before = token.balanceOf(provider);
        vm.prank(requester);
        market.finalize(jobId);
        vm.assertEq(token.balanceOf(provider) - before, 1000 * MAX_PRICE, "whole payment");
        assertNothingLocked();
    }

    // ---------------------------------------------------------------- reclaimExpired

    function test_reclaimExpired_openJobAfterTheAwardDeadline() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        uint64 awardDeadline = market.getJob(jobId).awardDeadline;
        vm.warp(awardDeadline);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__NotExpired.selector, awardDeadline));
        market.reclaimExpired(jobId);
        vm.warp(awardDeadline + 1);
        vm.expectEmit(address(market));
        emit JobMarket.JobExpired(jobId, address(0), ESCROW, 0);
        vm.prank(stranger);
        market.reclaimExpired(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Expired, "Expired");
        vm.assertEq(token.balanceOf(requester), before, "full refund");
        assertNothingLocked();
    }

    function test_reclaimExpired_missedCommitSlashesToTheRequester() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        uint256 collateral = market.getJob(jobId).collateral;
        uint64 deadline = market.getJob(jobId).deadline;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__NotExpired.selector, deadline));
        market.reclaimExpired(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.Slashed(
            provider, address(market), collateral, market.SLASH_MISSED_COMMIT(), abi.encode(jobId, uint256(deadline))
        );
        vm.prank(stranger);
        market.reclaimExpired(jobId);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Expired, "Expired");
        vm.assertEq(token.balanceOf(requester), before + collateral, "escrow back plus the collateral");
        vm.assertEq(registry.stakeOf(provider), MIN_STAKE - collateral, "provider lost the collateral");
        vm.assertEq(registry.reputationOf(provider).failed, 1, "fault recorded");
        assertNothingLocked();
    }

    function test_reclaimExpired_missedRevealSlashesToTheRequester() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        commitAs(provider, jobId, RESULT, 1);
        uint256 collateral = market.getJob(jobId).collateral;
        uint64 deadline = market.getJob(jobId).deadline;
        vm.warp(deadline + 1);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.Slashed(
            provider, address(market), collateral, market.SLASH_MISSED_REVEAL(), abi.encode(jobId, uint256(deadline))
        );
        market.reclaimExpired(jobId);
        vm.assertEq(token.balanceOf(requester), before + collateral, "escrow back plus the collateral");
        assertNothingLocked();
    }

    function test_reclaimExpired_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(3)));
        market.reclaimExpired(3);
        uint256 jobId = createDefaultJob();
        runToRevealed(jobId, MAX_PRICE, 1);
        vm.warp(vm.getBlockTimestamp() + 365 days);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Revealed)
        );
        market.reclaimExpired(jobId);
    }

    // ---------------------------------------------------------------- reaward

    function test_reaward_replacesAProviderThatMissedItsDeadline() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        uint256 collateral = market.getJob(jobId).collateral;
        vm.warp(market.getJob(jobId).deadline + 1);
        uint256 price2 = MAX_PRICE / 2;
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(PROVIDER2_KEY, jobId, provider2, price2, expiry);
        vm.expectEmit(address(market));
        emit JobMarket.ProviderReplaced(jobId, provider, collateral);
        vm.prank(requester);
        market.reaward(jobId, provider2, price2, expiry, sig);
        JobMarket.JobView memory j = market.getJob(jobId);
        vm.assertTrue(j.status == JobMarket.Status.Awarded, "Awarded again");
        vm.assertEq(j.provider, provider2, "new provider");
        vm.assertEq(j.pricePerFuel, price2, "new price");
        vm.assertEq(j.commitment, bytes32(0), "old assignment cleared");
        vm.assertEq(j.deadline, vm.getBlockTimestamp() + COMMIT_WINDOW, "fresh commit deadline");
        vm.assertEq(token.balanceOf(requester), before - ESCROW + collateral, "collateral to the requester");
        vm.assertEq(registry.lockedOf(provider), 0, "old collateral gone");
        // The new provider finishes and is paid at its own price.
        commitAs(provider2, jobId, RESULT, 10);
        revealAs(provider2, jobId, RESULT, 10);
        vm.prank(requester);
        market.finalize(jobId);
        vm.assertEq(token.balanceOf(requester), before - 10 * price2 + collateral, "paid only the new bid");
        assertNothingLocked();
    }

    function test_reaward_reverts() public {
        uint256 jobId = createDefaultJob();
        uint64 expiry = bidExpiry();
        bytes memory sig2 = signBid(PROVIDER2_KEY, jobId, provider2, MAX_PRICE, expiry);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(77)));
        market.reaward(77, provider2, MAX_PRICE, expiry, sig2);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Open)
        );
        market.reaward(jobId, provider2, MAX_PRICE, expiry, sig2);
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        uint64 deadline = market.getJob(jobId).deadline;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__NotExpired.selector, deadline));
        market.reaward(jobId, provider2, MAX_PRICE, expiry, sig2);
        vm.warp(deadline + 1);
        vm.prank(stranger);
        vm.expectRevert(JobMarket.JobMarket__NotRequester.selector);
        market.reaward(jobId, provider2, MAX_PRICE, expiry, sig2);
        bytes memory sig1 = signBid(PROVIDER_KEY, jobId, provider, MAX_PRICE, expiry);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__SameProvider.selector, provider));
        market.reaward(jobId, provider, MAX_PRICE, expiry, sig1);
    }

    // ---------------------------------------------------------------- settleByVerifier

    function test_settleByVerifier_paysAndReleasesWhenNotAtFault() public {
        market.grantRole(market.VERIFIER_ROLE(), verifier);
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 paid = 77 * MAX_PRICE;
        uint256 fee = paid * FEE_BPS / 10_000;
        vm.expectEmit(address(market));
        emit JobMarket.JobSettledByVerifier(jobId, verifier, paid, fee, ESCROW - paid, 0, "OK");
        vm.prank(verifier);
        market.settleByVerifier(jobId, 77, false, "OK", "");
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Finalized, "Finalized");
        vm.assertEq(token.balanceOf(provider) - providerBefore, paid - fee, "provider paid");
        vm.assertEq(token.balanceOf(requester), before - paid, "requester refunded the rest");
        vm.assertEq(registry.reputationOf(provider).completed, 1, "completed");
        assertNothingLocked();
    }

    function test_settleByVerifier_slashesToTheRequesterWhenAtFault() public {
        market.grantRole(market.VERIFIER_ROLE(), verifier);
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        runToRevealed(jobId, MAX_PRICE, 500);
        uint256 collateral = market.getJob(jobId).collateral;
        uint256 verifierBefore = token.balanceOf(verifier);
        vm.expectEmit(address(market));
        emit JobMarket.JobSettledByVerifier(jobId, verifier, 0, 0, ESCROW, collateral, "WRONG_RESULT");
        vm.prank(verifier);
        market.settleByVerifier(jobId, 0, true, "WRONG_RESULT", abi.encode(jobId));
        vm.assertEq(token.balanceOf(requester), before, "full refund");
        // The verifier receives the slash and shares it out (requester, referees, challenger).
        vm.assertEq(token.balanceOf(verifier) - verifierBefore, collateral, "slash to the verifier");
        vm.assertEq(registry.stakeOf(provider), MIN_STAKE - collateral, "collateral slashed");
        vm.assertEq(registry.reputationOf(provider).failed, 1, "fault recorded");
        assertNothingLocked();
    }

    function test_settleByVerifier_reverts() public {
        uint256 jobId = createDefaultJob();
        bytes32 role = market.VERIFIER_ROLE();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        market.settleByVerifier(jobId, 0, false, "", "");
        market.grantRole(role, verifier);
        vm.startPrank(verifier);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(9)));
        market.settleByVerifier(9, 0, false, "", "");
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Open)
        );
        market.settleByVerifier(jobId, 0, false, "", "");
        vm.stopPrank();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__FuelAboveMax.selector, MAX_FUEL + 1, MAX_FUEL));
        market.settleByVerifier(jobId, MAX_FUEL + 1, false, "", "");
    }

    function test_holdForVerification_leavesSettlementToTheVerifier() public {
        market.grantRole(market.VERIFIER_ROLE(), verifier);
        uint256 jobId = createDefaultJob();
        runToRevealed(jobId, MAX_PRICE, 10);
        vm.expectEmit(address(market));
        emit JobMarket.JobHeld(jobId, verifier);
        vm.prank(verifier);
        market.holdForVerification(jobId);
        vm.assertTrue(market.getJob(jobId).held, "held");
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__OnHold.selector, jobId));
        market.finalize(jobId);
        vm.warp(vm.getBlockTimestamp() + CHALLENGE_WINDOW);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__OnHold.selector, jobId));
        market.finalize(jobId);
        vm.prank(verifier);
        market.settleByVerifier(jobId, 10, false, "OK", "");
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Finalized, "settled by the verifier");
        assertNothingLocked();
    }

    function test_holdForVerification_blocksReawardButNotExpiry() public {
        market.grantRole(market.VERIFIER_ROLE(), verifier);
        uint256 before = token.balanceOf(requester);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.prank(verifier);
        market.holdForVerification(jobId);
        vm.warp(market.getJob(jobId).deadline + 1);
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(PROVIDER2_KEY, jobId, provider2, MAX_PRICE, expiry);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__OnHold.selector, jobId));
        market.reaward(jobId, provider2, MAX_PRICE, expiry, sig);
        // A missed commit still expires, so a held job cannot lock funds.
        uint256 collateral = market.getJob(jobId).collateral;
        market.reclaimExpired(jobId);
        vm.assertEq(token.balanceOf(requester), before + collateral, "refund plus collateral");
        assertNothingLocked();
    }

    function test_holdForVerification_reverts() public {
        bytes32 role = market.VERIFIER_ROLE();
        uint256 jobId = createDefaultJob();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        market.holdForVerification(jobId);
        market.grantRole(role, verifier);
        vm.startPrank(verifier);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(8)));
        market.holdForVerification(8);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Open)
        );
        market.holdForVerification(jobId);
        vm.stopPrank();
        runToRevealed(jobId, MAX_PRICE, 1);
        uint256 endsAt = vm.getBlockTimestamp() + CHALLENGE_WINDOW;
        vm.warp(endsAt);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__DeadlinePassed.selector, uint64(endsAt)));
        market.holdForVerification(jobId);
    }

    function test_holdGated_gatesTheRevealAndFloorsItsDeadline() public {
        StubGate gate = new StubGate(market);
        market.grantRole(market.VERIFIER_ROLE(), address(gate));
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        uint64 floor = uint64(vm.getBlockTimestamp() + 10 days);
        vm.expectEmit(address(market));
        emit JobMarket.JobHeld(jobId, address(gate));
        gate.hold(jobId, floor);
        vm.assertTrue(market.getJob(jobId).held, "held");
        commitAs(provider, jobId, bytes32("result"), 10);
        vm.assertEq(market.getJob(jobId).deadline, floor, "reveal deadline floored by the gate");
        vm.assertFalse(market.revealOpen(jobId), "barred");
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__RevealBarred.selector, jobId));
        market.revealResult(jobId, bytes32("result"), 10, keccak256("salt"));
        gate.set(true);
        vm.assertTrue(market.revealOpen(jobId), "open");
        revealAs(provider, jobId, bytes32("result"), 10);
        vm.assertTrue(statusOf(jobId) == JobMarket.Status.Revealed, "revealed");
        // An ungated hold never asks anyone: a plain job's reveal is open.
        vm.assertTrue(market.revealOpen(createDefaultJob()), "ungated");
    }

    function test_holdGated_reverts() public {
        bytes32 role = market.VERIFIER_ROLE();
        StubGate gate = new StubGate(market);
        uint256 jobId = createDefaultJob();
        awardTo(jobId, PROVIDER_KEY, MAX_PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(gate), role)
        );
        gate.hold(jobId, 0);
        market.grantRole(role, address(gate));
        commitAs(provider, jobId, bytes32("result"), 10);
        // Gating starts before the commit or not at all.
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarket__InvalidStatus.selector, jobId, JobMarket.Status.Committed)
        );
        gate.hold(jobId, 0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__JobNotFound.selector, uint256(99)));
        market.revealOpen(99);
    }

    // ---------------------------------------------------------------- admin

    function test_setFee_appliesToLaterJobs() public {
        uint256 first = createDefaultJob();
        vm.expectEmit(address(market));
        emit JobMarket.FeeSet(stranger, 1_000);
        market.setFee(stranger, 1_000);
        vm.assertEq(market.treasury(), stranger, "treasury");
        vm.assertEq(market.feeBps(), 1_000, "feeBps");
        uint256 second = createDefaultJob();
        vm.assertEq(market.getJob(first).feeBps, FEE_BPS, "old job keeps its fee");
        vm.assertEq(market.getJob(second).feeBps, 1_000, "new job takes the new fee");
        market.setFee(address(0), 0);
        vm.assertEq(market.treasury(), address(0), "no treasury with no fee");
    }

    function test_setFee_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__FeeTooHigh.selector, uint16(1_001)));
        market.setFee(treasury, 1_001);
        vm.expectRevert(JobMarket.JobMarket__ZeroAddress.selector);
        market.setFee(address(0), 1);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        market.setFee(treasury, 1);
    }

    function test_setCollateralPolicy() public {
        vm.expectEmit(address(market));
        emit JobMarket.CollateralPolicySet(1, 10_000);
        market.setCollateralPolicy(1, 10_000);
        vm.assertEq(market.minCollateral(), 1, "minCollateral");
        vm.assertEq(market.collateralBps(), 10_000, "collateralBps");
        vm.assertEq(market.collateralFor(MAX_PRICE, MAX_FUEL), ESCROW, "100% of the most possible earnings");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarket__CollateralTooHigh.selector, uint16(10_001)));
        market.setCollateralPolicy(0, 10_001);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        market.setCollateralPolicy(0, 0);
    }

    function test_roles_grantRevokeRenounce() public {
        bytes32 role = market.VERIFIER_ROLE();
        market.grantRole(role, verifier);
        vm.assertTrue(market.hasRole(role, verifier), "granted");
        market.revokeRole(role, verifier);
        vm.assertFalse(market.hasRole(role, verifier), "revoked");
        market.grantRole(role, verifier);
        vm.prank(verifier);
        vm.expectRevert(IAccessControl.AccessControlBadConfirmation.selector);
        market.renounceRole(role, stranger);
        vm.prank(verifier);
        market.renounceRole(role, verifier);
        vm.assertFalse(market.hasRole(role, verifier), "renounced");
    }

    // ---------------------------------------------------------------- refused payments and reentrancy

    /// @dev A market over a token with receiver callbacks, and a contract requester that can
    /// refuse payments or re-enter from the callback.
    function hookedMarket() internal returns (HookToken hook, JobMarket hooked, ReentrantActor actor, uint256 jobId) {
        hook = new HookToken();
        ProviderRegistry reg = new ProviderRegistry(IERC20(address(hook)), address(this), defaultParameters());
        hooked = new JobMarket(IERC20(address(hook)), reg, address(this), defaultConfig());
        reg.grantRole(reg.MARKET_ROLE(), address(hooked));
        reg.grantRole(reg.SLASHER_ROLE(), address(hooked));
        actor = new ReentrantActor();
        hook.mint(address(actor), ESCROW);
        actor.execute(address(hook), abi.encodeCall(IERC20.approve, (address(hooked), ESCROW)));
        actor.execute(address(hook), abi.encodeCall(HookToken.registerHook, ()));
        bytes memory ret =
            actor.execute(address(hooked), abi.encodeCall(JobMarket.createJob, (jobParams(MAX_PRICE, MAX_FUEL))));
        jobId = abi.decode(ret, (uint256));
    }

    function test_claim_collectsARefusedPayment() public {
        (HookToken hook, JobMarket hooked, ReentrantActor actor, uint256 jobId) = hookedMarket();
        actor.setRefusePayments(true);
        vm.expectEmit(address(hooked));
        emit JobMarket.PaymentDeferred(address(actor), ESCROW);
        actor.execute(address(hooked), abi.encodeCall(JobMarket.cancelJob, (jobId)));
        vm.assertTrue(hooked.getJob(jobId).status == JobMarket.Status.Cancelled, "settled despite the refusal");
        vm.assertEq(hooked.owed(address(actor)), ESCROW, "owed");
        vm.assertEq(hook.balanceOf(address(hooked)), ESCROW, "market keeps it for the claim");
        actor.setRefusePayments(false);
        actor.execute(address(hooked), abi.encodeCall(JobMarket.claim, ()));
        vm.assertEq(hooked.owed(address(actor)), 0, "nothing owed");
        vm.assertEq(hook.balanceOf(address(actor)), ESCROW, "claimed");
        vm.assertEq(hook.balanceOf(address(hooked)), 0, "market empty");
    }

    function test_claim_revertsWhenNothingIsOwed() public {
        vm.prank(stranger);
        vm.expectRevert(JobMarket.JobMarket__NothingOwed.selector);
        market.claim();
    }

    function test_cancelJob_rejectsReentryFromThePaymentCallback() public {
        (HookToken hook, JobMarket hooked, ReentrantActor actor, uint256 jobId) = hookedMarket();
        bytes memory cancel = abi.encodeCall(JobMarket.cancelJob, (jobId));
        actor.arm(address(hooked), cancel);
        actor.execute(address(hooked), cancel);
        vm.assertTrue(actor.reentryAttempted(), "re-entry attempted");
        vm.assertFalse(actor.reentrySucceeded(), "re-entry refused");
        vm.assertEq(
            actor.reentryReturn(),
            abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector),
            "refused by the guard"
        );
        vm.assertEq(hook.balanceOf(address(actor)), ESCROW, "refunded once");
    }
}
