// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {HookToken} from "../contracts/HookToken.sol";
import {ReentrantActor} from "../contracts/ReentrantActor.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @notice ProviderRegistry: staking, unbonding, collateral locks, slashing, jailing, reputation, roles.
contract ProviderRegistryTest is BazaarTest {
    bytes32 internal constant REASON = "TEST_FAULT";

    /// @dev Lets this test contract lock, release and slash directly, as the market does.
    function actAsMarket() internal {
        registry.grantRole(registry.MARKET_ROLE(), address(this));
        registry.grantRole(registry.SLASHER_ROLE(), address(this));
    }

    // ---------------------------------------------------------------- construction and views

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(ProviderRegistry.ProviderRegistry__ZeroAddress.selector);
        new ProviderRegistry(IERC20(address(0)), address(this), defaultParameters());
    }

    function test_constructor_revertsOnZeroAdmin() public {
        vm.expectRevert(ProviderRegistry.ProviderRegistry__ZeroAddress.selector);
        new ProviderRegistry(IERC20(address(token)), address(0), defaultParameters());
    }

    function test_views_afterSetup() public view {
        vm.assertEq(address(registry.token()), address(token), "token");
        vm.assertEq(registry.minStake(), MIN_STAKE, "minStake");
        ProviderRegistry.Parameters memory p = registry.parameters();
        vm.assertEq(p.unbondingDelay, UNBONDING_DELAY, "unbondingDelay");
        vm.assertEq(p.jailDuration, JAIL_DURATION, "jailDuration");
        vm.assertEq(p.reputationHalfLife, HALF_LIFE, "halfLife");
        vm.assertEq(p.maxFaults, MAX_FAULTS, "maxFaults");
        vm.assertEq(registry.stakeOf(provider), MIN_STAKE, "stakeOf");
        vm.assertEq(registry.lockedOf(provider), 0, "lockedOf");
        vm.assertEq(registry.availableOf(provider), MIN_STAKE, "availableOf");
        vm.assertTrue(registry.isEligible(provider), "staked provider eligible");
        vm.assertFalse(registry.isEligible(stranger), "unstaked account not eligible");
        vm.assertEq(registry.MARKET_ROLE(), keccak256("MARKET_ROLE"), "MARKET_ROLE");
        vm.assertEq(registry.SLASHER_ROLE(), keccak256("SLASHER_ROLE"), "SLASHER_ROLE");
        vm.assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), address(this)), "admin");
        vm.assertTrue(registry.hasRole(registry.MARKET_ROLE(), address(market)), "market role");
        vm.assertEq(registry.getRoleAdmin(registry.MARKET_ROLE()), registry.DEFAULT_ADMIN_ROLE(), "role admin");
        vm.assertTrue(registry.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
    }

    // ---------------------------------------------------------------- stake

    function test_stake_topsUp() public {
        stakeAs(provider, 5 ether);
        vm.assertEq(registry.stakeOf(provider), MIN_STAKE + 5 ether, "stake");
        vm.assertEq(token.balanceOf(address(registry)), 2 * MIN_STAKE + 5 ether, "registry balance");
        assertConservation();
    }

    function test_stake_revertsOnZero() public {
        vm.prank(provider);
        vm.expectRevert(ProviderRegistry.ProviderRegistry__ZeroAmount.selector);
        registry.stake(0);
    }

    function test_stake_revertsAboveUint128() public {
        uint256 huge = uint256(type(uint128).max) + 1;
        token.mint(stranger, huge);
        vm.startPrank(stranger);
        token.approve(address(registry), huge);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__AmountTooLarge.selector, huge));
        registry.stake(huge);
        vm.stopPrank();
    }

    function test_stake_revertsWithoutAllowance() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, 1 ether)
        );
        registry.stake(1 ether);
    }

    function test_stakeWithPermit_approvesAndStakesInOneCall() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, address(registry), MIN_STAKE, deadline);
        vm.prank(stranger);
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        vm.assertEq(registry.stakeOf(stranger), MIN_STAKE, "staked");
        vm.assertTrue(registry.isEligible(stranger), "eligible");
    }

    function test_stakeWithPermit_survivesAFrontRunPermit() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, address(registry), MIN_STAKE, deadline);
        // Someone submits the permit first: the allowance is there, the permit call now fails.
        token.permit(stranger, address(registry), MIN_STAKE, deadline, v, r, s);
        vm.prank(stranger);
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        vm.assertEq(registry.stakeOf(stranger), MIN_STAKE, "staked despite the used permit");
    }

    function test_stakeWithPermit_revertsWithABadPermitAndNoAllowance() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            signPermitAs(PROVIDER_KEY, stranger, address(registry), MIN_STAKE, deadline);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, MIN_STAKE)
        );
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- unbonding

    function test_requestUnbond_movesStakeOutOfEligibility() public {
        vm.prank(provider);
        registry.requestUnbond(1 ether);
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.staked, MIN_STAKE - 1 ether, "staked");
        vm.assertEq(a.unbonding, 1 ether, "unbonding");
        vm.assertEq(a.unbondingReadyAt, vm.getBlockTimestamp() + UNBONDING_DELAY, "readyAt");
        vm.assertFalse(registry.isEligible(provider), "below minStake");
    }

    function test_requestUnbond_revertsOnZero() public {
        vm.prank(provider);
        vm.expectRevert(ProviderRegistry.ProviderRegistry__ZeroAmount.selector);
        registry.requestUnbond(0);
    }

    function test_requestUnbond_revertsOnLockedStake() public {
        actAsMarket();
        registry.lock(provider, 30 ether);
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(
                ProviderRegistry.ProviderRegistry__InsufficientFreeStake.selector, provider, MIN_STAKE - 30 ether, MIN_STAKE
            )
        );
        registry.requestUnbond(MIN_STAKE);
    }

    function test_requestUnbond_againRestartsTheDelay() public {
        vm.prank(provider);
        registry.requestUnbond(1 ether);
        vm.warp(vm.getBlockTimestamp() + 1 days);
        vm.prank(provider);
        registry.requestUnbond(2 ether);
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.unbonding, 3 ether, "amounts add up");
        vm.assertEq(a.unbondingReadyAt, vm.getBlockTimestamp() + UNBONDING_DELAY, "delay restarted");
    }

    function test_cancelUnbonding_restoresTheStake() public {
        vm.startPrank(provider);
        registry.requestUnbond(40 ether);
        registry.cancelUnbonding();
        vm.stopPrank();
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.staked, MIN_STAKE, "staked again");
        vm.assertEq(a.unbonding, 0, "nothing unbonding");
        vm.assertEq(a.unbondingReadyAt, 0, "no ready time");
        vm.assertTrue(registry.isEligible(provider), "eligible again");
    }

    function test_cancelUnbonding_revertsWhenNothingUnbonds() public {
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NothingUnbonding.selector, provider)
        );
        registry.cancelUnbonding();
    }

    function test_withdraw_afterTheDelay() public {
        vm.prank(provider);
        registry.requestUnbond(MIN_STAKE);
        uint256 readyAt = vm.getBlockTimestamp() + UNBONDING_DELAY;
        vm.warp(readyAt - 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__UnbondingNotReady.selector, readyAt));
        registry.withdraw();
        vm.warp(readyAt);
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        registry.withdraw();
        vm.assertEq(token.balanceOf(provider), before + MIN_STAKE, "stake returned");
        vm.assertEq(registry.accountOf(provider).unbonding, 0, "nothing left unbonding");
        assertConservation();
    }

    function test_withdraw_revertsWhenNothingUnbonds() public {
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NothingUnbonding.selector, provider)
        );
        registry.withdraw();
    }

    // ---------------------------------------------------------------- lock and release

    function test_lock_and_release() public {
        actAsMarket();
        registry.lock(provider, 30 ether);
        vm.assertEq(registry.lockedOf(provider), 30 ether, "locked");
        vm.assertEq(registry.availableOf(provider), MIN_STAKE - 30 ether, "available");
        registry.release(provider, 30 ether, 1234);
        vm.assertEq(registry.lockedOf(provider), 0, "released");
        ProviderRegistry.Reputation memory rep = registry.reputationOf(provider);
        vm.assertEq(rep.completed, 1, "completed");
        vm.assertEq(rep.unitsServed, 1234, "unitsServed");
        vm.assertEq(rep.good, 1e18, "one good job");
    }

    function test_release_neverRevertsForMissingCollateral() public {
        actAsMarket();
        registry.lock(provider, 10 ether);
        registry.slash(provider, 10 ether, REASON, "");
        // The collateral is gone; releasing it still records the job and does not revert.
        registry.release(provider, 10 ether, 1);
        vm.assertEq(registry.lockedOf(provider), 0, "nothing locked");
        vm.assertEq(registry.reputationOf(provider).completed, 1, "completed");
    }

    function test_lock_revertsAboveFreeStake() public {
        actAsMarket();
        registry.lock(provider, 60 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                ProviderRegistry.ProviderRegistry__InsufficientFreeStake.selector, provider, 40 ether, 41 ether
            )
        );
        registry.lock(provider, 41 ether);
    }

    function test_lock_revertsBelowMinStake() public {
        actAsMarket();
        vm.prank(provider);
        registry.requestUnbond(1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NotEligible.selector, provider));
        registry.lock(provider, 0);
    }

    function test_lock_revertsWithoutStakeEvenWhenMinStakeIsZero() public {
        actAsMarket();
        ProviderRegistry.Parameters memory p = defaultParameters();
        p.minStake = 0;
        registry.setParameters(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NotEligible.selector, stranger));
        registry.lock(stranger, 0);
    }

    function test_marketFunctions_requireTheirRoles() public {
        bytes32 marketRole = registry.MARKET_ROLE();
        bytes32 slasherRole = registry.SLASHER_ROLE();
        vm.startPrank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, marketRole)
        );
        registry.lock(provider, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, marketRole)
        );
        registry.release(provider, 1, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, slasherRole)
        );
        registry.slash(provider, 1, REASON, "");
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        registry.setParameters(defaultParameters());
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- slashing and jailing

    function test_slash_takesLockedThenFreeThenUnbonding() public {
        actAsMarket();
        stakeAs(provider, 200 ether); // staked 300
        registry.lock(provider, 50 ether);
        vm.prank(provider);
        registry.requestUnbond(100 ether); // staked 200 (50 locked), unbonding 100
        uint256 before = token.balanceOf(address(this));
        uint256 slashed = registry.slash(provider, 280 ether, REASON, abi.encode(uint256(1)));
        vm.assertEq(slashed, 280 ether, "took all asked");
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.locked, 0, "locked first");
        vm.assertEq(a.staked, 0, "then free stake");
        vm.assertEq(a.unbonding, 20 ether, "then unbonding");
        vm.assertEq(token.balanceOf(address(this)), before + 280 ether, "sent to the slasher");
        // Asking more than is left takes what is left.
        vm.assertEq(registry.slash(provider, 100 ether, REASON, ""), 20 ether, "capped at the rest");
        vm.assertEq(registry.reputationOf(provider).slashedAmount, 300 ether, "slashed total");
        assertConservation();
    }

    function test_slash_zeroRecordsAFaultOnly() public {
        actAsMarket();
        uint256 slashed = registry.slash(provider, 0, REASON, "");
        vm.assertEq(slashed, 0, "nothing taken");
        vm.assertEq(registry.stakeOf(provider), MIN_STAKE, "stake untouched");
        ProviderRegistry.Reputation memory rep = registry.reputationOf(provider);
        vm.assertEq(rep.failed, 1, "fault counted");
        vm.assertEq(rep.bad, 1e18, "one bad mark");
        vm.assertEq(registry.accountOf(provider).faults, 1, "fault count");
    }

    function test_slash_jailsAfterMaxFaults() public {
        actAsMarket();
        for (uint256 i = 0; i < MAX_FAULTS; i++) {
            registry.slash(provider, 0, REASON, "");
        }
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.jailedUntil, vm.getBlockTimestamp() + JAIL_DURATION, "jailed");
        vm.assertEq(a.faults, 0, "count reset");
        vm.assertFalse(registry.isEligible(provider), "ineligible while jailed");
        vm.assertEq(registry.reputationOf(provider).score, 0, "no score while jailed");
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__NotEligible.selector, provider));
        registry.lock(provider, 0);
        vm.warp(vm.getBlockTimestamp() + JAIL_DURATION);
        vm.assertTrue(registry.isEligible(provider), "eligible after the jail term");
        registry.lock(provider, 1 ether);
    }

    function test_slash_neverJailsWhenMaxFaultsIsZero() public {
        actAsMarket();
        ProviderRegistry.Parameters memory p = defaultParameters();
        p.maxFaults = 0;
        registry.setParameters(p);
        for (uint256 i = 0; i < 5; i++) {
            registry.slash(provider, 0, REASON, "");
        }
        vm.assertTrue(registry.isEligible(provider), "never jailed");
        vm.assertEq(registry.accountOf(provider).faults, 5, "faults counted");
    }

    function test_slash_rejectsReentry() public {
        // A registry over a token that calls receivers back, slashed by a contract that re-enters.
        HookToken hook = new HookToken();
        ProviderRegistry hooked = new ProviderRegistry(IERC20(address(hook)), address(this), defaultParameters());
        ReentrantActor slasher = new ReentrantActor();
        hooked.grantRole(hooked.SLASHER_ROLE(), address(slasher));
        hook.mint(provider, MIN_STAKE);
        vm.startPrank(provider);
        hook.approve(address(hooked), MIN_STAKE);
        hooked.stake(MIN_STAKE);
        vm.stopPrank();
        slasher.execute(address(hook), abi.encodeCall(HookToken.registerHook, ()));
        bytes memory again = abi.encodeCall(ProviderRegistry.slash, (provider, 1 ether, REASON, ""));
        slasher.arm(address(hooked), again);
        slasher.execute(address(hooked), again);
        vm.assertTrue(slasher.reentryAttempted(), "re-entry attempted");
        vm.assertFalse(slasher.reentrySucceeded(), "re-entry refused");
        vm.assertEq(
            slasher.reentryReturn(),
            abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector),
            "refused by the guard"
        );
        vm.assertEq(hooked.stakeOf(provider), MIN_STAKE - 1 ether, "slashed once");
    }

    // ---------------------------------------------------------------- reputation

    function test_reputationOf_decaysByHalfLives() public {
        actAsMarket();
        registry.lock(provider, 0);
        registry.release(provider, 0, 10);
        vm.warp(vm.getBlockTimestamp() + HALF_LIFE);
        vm.assertEq(registry.reputationOf(provider).good, 0.5e18, "halved after one half-life");
        vm.warp(vm.getBlockTimestamp() + HALF_LIFE / 2);
        // Linear between half-lives: 0.5 - 0.5 * 0.5 / 2.
        vm.assertEq(registry.reputationOf(provider).good, 0.375e18, "interpolated");
        vm.warp(vm.getBlockTimestamp() + 200 * uint256(HALF_LIFE));
        vm.assertEq(registry.reputationOf(provider).good, 0, "gone after 96 half-lives");
    }

    function test_reputationOf_scoreWeighsQualityAndStake() public {
        actAsMarket();
        registry.release(provider, 0, 1);
        ProviderRegistry.Reputation memory rep = registry.reputationOf(provider);
        // quality = 1 / (1 + 0 + 1) = 0.5; stake weight = 100 / (100 + 100) = 0.5.
        vm.assertEq(rep.score, 0.25e18, "score");
        vm.assertEq(rep.stake, MIN_STAKE, "stake");
        vm.assertEq(registry.reputationOf(stranger).score, 0, "no stake, no score");
    }

    // ---------------------------------------------------------------- admin

    function test_setParameters_appliesToLaterCalls() public {
        ProviderRegistry.Parameters memory p = defaultParameters();
        p.minStake = 500 ether;
        p.unbondingDelay = 1;
        registry.setParameters(p);
        vm.assertEq(registry.minStake(), 500 ether, "minStake");
        vm.assertFalse(registry.isEligible(provider), "now below minStake");
        vm.assertEq(registry.parameters().unbondingDelay, 1, "delay");
    }

    function test_roles_grantRevokeRenounce() public {
        bytes32 role = registry.SLASHER_ROLE();
        registry.grantRole(role, verifier);
        vm.assertTrue(registry.hasRole(role, verifier), "granted");
        registry.revokeRole(role, verifier);
        vm.assertFalse(registry.hasRole(role, verifier), "revoked");
        registry.grantRole(role, verifier);
        vm.prank(verifier);
        vm.expectRevert(IAccessControl.AccessControlBadConfirmation.selector);
        registry.renounceRole(role, stranger);
        vm.prank(verifier);
        registry.renounceRole(role, verifier);
        vm.assertFalse(registry.hasRole(role, verifier), "renounced");
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        registry.grantRole(role, stranger);
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Fuzz: a slash takes min(amount, everything the provider has), in bucket order, and
    /// moves exactly that to the slasher; the registry stays fully backed.
    function testFuzz_slashTakesAtMostWhatIsThere(uint96 extra, uint96 lockAmt, uint96 unbondAmt, uint256 amount)
        public
    {
        actAsMarket();
        uint256 topUp = bound(extra, 0, FAUCET - MIN_STAKE);
        if (topUp > 0) stakeAs(provider, topUp);
        uint256 staked = uint256(MIN_STAKE) + topUp;
        uint256 locked = bound(lockAmt, 0, staked);
        registry.lock(provider, locked);
        uint256 unbond = bound(unbondAmt, 0, staked - locked);
        if (unbond > 0) {
            vm.prank(provider);
            registry.requestUnbond(unbond);
        }
        uint256 total = staked;
        amount = bound(amount, 0, 2 * total);
        uint256 before = token.balanceOf(address(this));
        uint256 slashed = registry.slash(provider, amount, REASON, "");
        vm.assertEq(slashed, amount < total ? amount : total, "slashed == min(amount, total)");
        vm.assertEq(token.balanceOf(address(this)) - before, slashed, "slasher received exactly the slash");
        ProviderRegistry.StakeAccount memory a = registry.accountOf(provider);
        vm.assertEq(a.staked + a.unbonding, total - slashed, "remaining stake");
        vm.assertLe(a.locked, a.staked, "locked within staked");
        uint256 fromLocked = slashed < locked ? slashed : locked;
        vm.assertEq(a.locked, locked - fromLocked, "locked collateral goes first");
        address[] memory providers = new address[](2);
        providers[0] = provider;
        providers[1] = provider2;
        uint256 stakes;
        for (uint256 i = 0; i < 2; i++) {
            ProviderRegistry.StakeAccount memory b = registry.accountOf(providers[i]);
            stakes += b.staked + b.unbonding;
        }
        vm.assertEq(token.balanceOf(address(registry)), stakes, "registry balance == stakes");
        assertConservation();
    }

    /// @dev Fuzz: stake, unbond and withdraw return exactly what was put in.
    function testFuzz_stakeUnbondWithdrawRoundTrip(uint96 rawAmount, uint32 wait) public {
        uint256 amount = bound(rawAmount, 1, FAUCET);
        uint256 before = token.balanceOf(stranger);
        stakeAs(stranger, amount);
        vm.prank(stranger);
        registry.requestUnbond(amount);
        uint256 readyAt = vm.getBlockTimestamp() + UNBONDING_DELAY;
        vm.warp(vm.getBlockTimestamp() + wait);
        vm.prank(stranger);
        if (vm.getBlockTimestamp() < readyAt) {
            vm.expectRevert(
                abi.encodeWithSelector(ProviderRegistry.ProviderRegistry__UnbondingNotReady.selector, readyAt)
            );
            registry.withdraw();
            vm.warp(readyAt);
            vm.prank(stranger);
        }
        registry.withdraw();
        vm.assertEq(token.balanceOf(stranger), before, "all stake returned");
        assertConservation();
    }

    /// @dev Fuzz: reputation accumulators never grow with time alone and never go below the
    /// exact half-life curve's floor value / 2^(whole half-lives + 1).
    function testFuzz_reputationDecayIsMonotone(uint8 jobs, uint32 dt1, uint32 dt2) public {
        actAsMarket();
        uint256 n = bound(jobs, 1, 20);
        for (uint256 i = 0; i < n; i++) {
            registry.release(provider, 0, 1);
        }
        vm.warp(vm.getBlockTimestamp() + dt1);
        uint256 first = registry.reputationOf(provider).good;
        vm.warp(vm.getBlockTimestamp() + dt2);
        uint256 second = registry.reputationOf(provider).good;
        vm.assertLe(first, n * 1e18, "never above the undecayed value");
        vm.assertLe(second, first, "never grows with time");
        uint256 halvings = (uint256(dt1) + dt2) / HALF_LIFE;
        if (halvings < 95) vm.assertGe(second, (n * 1e18) >> (halvings + 1), "decays no faster than the curve");
    }
}
