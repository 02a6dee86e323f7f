// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../contracts/JobMarket.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {MarketHandler} from "./MarketHandler.sol";
import {vm} from "./Vm.sol";

/// @notice Stateful fuzzing (invariant tests): random sequences of {MarketHandler} actions over
/// many jobs and both providers, after each of which the market's accounting must hold exactly.
contract MarketInvariantTest is BazaarTest {
    /// @dev Same layout as forge-std's StdInvariant.FuzzSelector, which the runner reads.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    MarketHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new MarketHandler(token, registry, market, requester, PROVIDER_KEY, PROVIDER2_KEY);
        market.grantRole(market.VERIFIER_ROLE(), address(handler));
        // Slashes are paid to the handler as verifier.
        holders.push(address(handler));
        // A short unbonding delay so that sequences reach withdraw.
        ProviderRegistry.Parameters memory p = defaultParameters();
        p.unbondingDelay = 1 hours;
        registry.setParameters(p);
    }

    /// @dev Only the handler is fuzzed (not the contracts directly, nor this test).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev The handler's actions (its views and ghost getters are left out).
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = MarketHandler.createJob.selector;
        selectors[1] = MarketHandler.award.selector;
        selectors[2] = MarketHandler.reaward.selector;
        selectors[3] = MarketHandler.commit.selector;
        selectors[4] = MarketHandler.reveal.selector;
        selectors[5] = MarketHandler.finalize.selector;
        selectors[6] = MarketHandler.cancel.selector;
        selectors[7] = MarketHandler.reclaim.selector;
        selectors[8] = MarketHandler.hold.selector;
        selectors[9] = MarketHandler.settle.selector;
        selectors[10] = MarketHandler.stake.selector;
        selectors[11] = MarketHandler.requestUnbond.selector;
        selectors[12] = MarketHandler.cancelUnbonding.selector;
        selectors[13] = MarketHandler.withdraw.selector;
        selectors[14] = MarketHandler.warp.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// @notice After every action of every sequence: token conservation, the market holds exactly
    /// the escrow of its live jobs plus what it owes, the registry holds exactly the stakes, each
    /// provider's locked collateral is exactly that of its live assignments (so every terminal
    /// state released or slashed it), and no provider was ever paid above maxFuel x price.
    /// @dev One invariant function rather than four: the runner fuzzes each invariant function
    /// with its own sequences, so one function gets four times the depth for the same time.
    function invariant_marketAccounting() public view {
        assertConservation();
        _checkMarketEscrow();
        _checkRegistry();
        vm.assertFalse(handler.overpaid(), "provider paid more than maxFuel x price");
    }

    function _checkMarketEscrow() internal view {
        uint256 live;
        uint256 n = handler.jobCount();
        for (uint256 i = 0; i < n; i++) {
            JobMarket.JobView memory j = market.getJob(handler.jobIds(i));
            if (_isLive(j.status)) live += j.escrow;
        }
        uint256 owed = market.owed(requester) + market.owed(provider) + market.owed(provider2)
            + market.owed(treasury) + market.owed(address(handler));
        vm.assertEq(token.balanceOf(address(market)), live + owed, "market balance == live escrow + owed");
    }

    function _checkRegistry() internal view {
        uint256 stakes;
        for (uint256 p = 0; p < 2; p++) {
            address who = handler.providerAt(p);
            uint256 expectedLocked;
            uint256 n = handler.jobCount();
            for (uint256 i = 0; i < n; i++) {
                JobMarket.JobView memory j = market.getJob(handler.jobIds(i));
                if (_isAssigned(j.status) && j.provider == who) expectedLocked += j.collateral;
            }
            ProviderRegistry.StakeAccount memory a = registry.accountOf(who);
            vm.assertEq(a.locked, expectedLocked, "locked == collateral of live assignments");
            vm.assertLe(a.locked, a.staked, "locked within active stake");
            stakes += a.staked + a.unbonding;
        }
        vm.assertEq(token.balanceOf(address(registry)), stakes, "registry balance == stakes");
    }

    function _isLive(JobMarket.Status s) internal pure returns (bool) {
        return s == JobMarket.Status.Open || _isAssigned(s);
    }

    function _isAssigned(JobMarket.Status s) internal pure returns (bool) {
        return s == JobMarket.Status.Awarded || s == JobMarket.Status.Committed || s == JobMarket.Status.Revealed;
    }
}
