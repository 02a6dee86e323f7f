// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ComputeToken} from "../../contracts/ComputeToken.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {vm} from "./Vm.sol";

/// @title MarketHandler
/// @notice The actions the invariant fuzzer strings together: random jobs walked through every
/// transition (award, commit, reveal, finalize, cancel, expire, re-award, verifier settlement and
/// hold), stake top-ups and unbonding, and time passing. Each action picks, from a random start,
/// a job in a state it applies to, and does nothing if there is none or its deadline is wrong, so
/// few calls are wasted on reverts and sequences reach the late transitions.
/// It is the market's verifier (VERIFIER_ROLE), so the slashes it triggers come to it. Top-ups
/// come out of the providers' faucet balances.
/// Ghost state: every job this handler opened, and a flag set if a provider was ever paid more
/// than maxFuel x price for a job (checked by the invariant test, since a handler's own revert
/// would only be counted as a failed call).
contract MarketHandler {
    ComputeToken internal immutable token;
    ProviderRegistry internal immutable registry;
    JobMarket internal immutable market;
    address internal immutable requester;
    uint256[2] internal keys;
    address[2] internal providers;

    uint256[] public jobIds;
    /// @notice Set if a settlement ever paid a provider more than maxFuel x price.
    bool public overpaid;
    /// @notice Calls that changed state, per action (to see the fuzzer reached every transition).
    mapping(bytes32 action => uint256) public calls;

    constructor(
        ComputeToken token_,
        ProviderRegistry registry_,
        JobMarket market_,
        address requester_,
        uint256 providerKey,
        uint256 provider2Key
    ) {
        token = token_;
        registry = registry_;
        market = market_;
        requester = requester_;
        keys = [providerKey, provider2Key];
        providers = [vm.addr(providerKey), vm.addr(provider2Key)];
    }

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    function providerAt(uint256 i) external view returns (address) {
        return providers[i];
    }

    // ---------------------------------------------------------------- job actions

    function createJob(uint256 priceSeed, uint256 fuelSeed, uint256 windowSeed) external {
        uint256 maxPrice = _bound(priceSeed, 1, 1e12);
        uint64 maxFuel = uint64(_bound(fuelSeed, 1, 1e6));
        uint32 window = uint32(_bound(windowSeed, 1, 2 hours));
        JobMarket.JobParams memory p = JobMarket.JobParams({
            specHash: keccak256(abi.encode(jobIds.length)),
            maxPricePerFuel: maxPrice,
            maxFuel: maxFuel,
            bidDeadline: uint64(block.timestamp + window),
            awardDeadline: uint64(block.timestamp + window),
            commitWindow: window,
            revealWindow: window
        });
        vm.prank(requester);
        jobIds.push(market.createJob(p));
        calls["createJob"]++;
    }

    function award(uint256 jobSeed, uint256 providerSeed, uint256 priceSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickIn(jobSeed, JobMarket.Status.Open);
        if (j.status != JobMarket.Status.Open || block.timestamp > j.awardDeadline) return;
        uint256 i = providerSeed % 2;
        uint256 price = _bound(priceSeed, 0, j.maxPricePerFuel);
        if (!_canLock(providers[i], price, j.maxFuel)) return;
        (uint64 expiry, bytes memory sig) = _bid(jobId, i, price);
        vm.prank(requester);
        market.award(jobId, providers[i], price, expiry, sig);
        calls["award"]++;
    }

    function reaward(uint256 jobSeed, uint256 priceSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickAssigned(jobSeed);
        if (!_missed(j) || j.held) return;
        uint256 i = j.provider == providers[0] ? 1 : 0;
        uint256 price = _bound(priceSeed, 0, j.maxPricePerFuel);
        if (!_canLock(providers[i], price, j.maxFuel)) return;
        (uint64 expiry, bytes memory sig) = _bid(jobId, i, price);
        vm.prank(requester);
        market.reaward(jobId, providers[i], price, expiry, sig);
        calls["reaward"]++;
    }

    function commit(uint256 jobSeed, uint256 fuelSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickIn(jobSeed, JobMarket.Status.Awarded);
        if (j.status != JobMarket.Status.Awarded || block.timestamp > j.deadline) return;
        uint64 fuel = uint64(_bound(fuelSeed, 0, j.maxFuel));
        vm.prank(j.provider);
        market.commitResult(jobId, keccak256(abi.encode(bytes32(jobId), fuel, bytes32(jobId), j.provider)));
        _committedFuel[jobId] = fuel;
        calls["commit"]++;
    }

    function reveal(uint256 jobSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickIn(jobSeed, JobMarket.Status.Committed);
        if (j.status != JobMarket.Status.Committed || block.timestamp > j.deadline) return;
        vm.prank(j.provider);
        market.revealResult(jobId, bytes32(jobId), _committedFuel[jobId], bytes32(jobId));
        calls["reveal"]++;
    }

    function finalize(uint256 jobSeed, bool byRequester) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickIn(jobSeed, JobMarket.Status.Revealed);
        if (j.status != JobMarket.Status.Revealed || j.held) return;
        if (!byRequester && block.timestamp < uint256(j.revealedAt) + market.challengeWindow()) return;
        uint256 before = token.balanceOf(j.provider);
        vm.prank(byRequester ? requester : address(0xF1));
        market.finalize(jobId);
        _checkPaid(j, before);
        calls["finalize"]++;
    }

    function cancel(uint256 jobSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickIn(jobSeed, JobMarket.Status.Open);
        if (j.status != JobMarket.Status.Open) return;
        vm.prank(requester);
        market.cancelJob(jobId);
        calls["cancel"]++;
    }

    function reclaim(uint256 jobSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pick(jobSeed);
        bool open = j.status == JobMarket.Status.Open && block.timestamp > j.awardDeadline;
        if (!open && !_missed(j)) return;
        market.reclaimExpired(jobId);
        calls["reclaim"]++;
    }

    function hold(uint256 jobSeed) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickAssigned(jobSeed);
        if (!_settleable(j) || j.held) return;
        if (
            j.status == JobMarket.Status.Revealed
                && block.timestamp >= uint256(j.revealedAt) + market.challengeWindow()
        ) return;
        market.holdForVerification(jobId);
        calls["hold"]++;
    }

    function settle(uint256 jobSeed, uint256 fuelSeed, bool atFault) external {
        (uint256 jobId, JobMarket.JobView memory j) = _pickAssigned(jobSeed);
        if (!_settleable(j)) return;
        uint64 fuel = uint64(_bound(fuelSeed, 0, j.maxFuel));
        uint256 before = token.balanceOf(j.provider);
        market.settleByVerifier(jobId, fuel, atFault, "VERDICT", "");
        _checkPaid(j, before);
        calls["settle"]++;
    }

    // ---------------------------------------------------------------- stake actions

    function stake(uint256 providerSeed, uint256 amountSeed) external {
        address p = providers[providerSeed % 2];
        uint256 amount = _bound(amountSeed, 1, 100 ether);
        if (token.balanceOf(p) < amount) return;
        vm.startPrank(p);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
        calls["stake"]++;
    }

    function requestUnbond(uint256 providerSeed, uint256 amountSeed) external {
        address p = providers[providerSeed % 2];
        uint256 free = registry.availableOf(p);
        if (free == 0) return;
        vm.prank(p);
        registry.requestUnbond(_bound(amountSeed, 1, free));
        calls["requestUnbond"]++;
    }

    function cancelUnbonding(uint256 providerSeed) external {
        address p = providers[providerSeed % 2];
        if (registry.accountOf(p).unbonding == 0) return;
        vm.prank(p);
        registry.cancelUnbonding();
        calls["cancelUnbonding"]++;
    }

    function withdraw(uint256 providerSeed) external {
        address p = providers[providerSeed % 2];
        ProviderRegistry.StakeAccount memory a = registry.accountOf(p);
        if (a.unbonding == 0 || block.timestamp < a.unbondingReadyAt) return;
        vm.prank(p);
        registry.withdraw();
        calls["withdraw"]++;
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 1, 2 hours));
        calls["warp"]++;
    }

    // ---------------------------------------------------------------- internals

    mapping(uint256 jobId => uint64) internal _committedFuel;

    function _pick(uint256 seed) internal view returns (uint256 jobId, JobMarket.JobView memory j) {
        if (jobIds.length == 0) return (0, j);
        jobId = jobIds[seed % jobIds.length];
        j = market.getJob(jobId);
    }

    /// @dev The first job in `status` from a random starting point (a None view if there is none),
    /// so that sequences reach the later transitions instead of mostly hitting the wrong state.
    function _pickIn(uint256 seed, JobMarket.Status status)
        internal
        view
        returns (uint256 jobId, JobMarket.JobView memory j)
    {
        uint256 n = jobIds.length;
        for (uint256 k = 0; k < n; k++) {
            jobId = jobIds[(seed % n + k) % n];
            j = market.getJob(jobId);
            if (j.status == status) return (jobId, j);
        }
        JobMarket.JobView memory none;
        return (0, none);
    }

    /// @dev Like {_pickIn}, for a job that has a provider (Awarded, Committed or Revealed).
    function _pickAssigned(uint256 seed) internal view returns (uint256 jobId, JobMarket.JobView memory j) {
        uint256 n = jobIds.length;
        for (uint256 k = 0; k < n; k++) {
            jobId = jobIds[(seed % n + k) % n];
            j = market.getJob(jobId);
            if (_settleable(j)) return (jobId, j);
        }
        JobMarket.JobView memory none;
        return (0, none);
    }

    function _missed(JobMarket.JobView memory j) internal view returns (bool) {
        bool waiting = j.status == JobMarket.Status.Awarded || j.status == JobMarket.Status.Committed;
        return waiting && block.timestamp > j.deadline;
    }

    function _settleable(JobMarket.JobView memory j) internal pure returns (bool) {
        return j.status == JobMarket.Status.Awarded || j.status == JobMarket.Status.Committed
            || j.status == JobMarket.Status.Revealed;
    }

    function _canLock(address p, uint256 price, uint64 maxFuel) internal view returns (bool) {
        return registry.isEligible(p) && registry.availableOf(p) >= market.collateralFor(price, maxFuel);
    }

    function _bid(uint256 jobId, uint256 i, uint256 price) internal view returns (uint64 expiry, bytes memory sig) {
        expiry = uint64(block.timestamp + 60);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], market.bidDigest(jobId, providers[i], price, expiry));
        sig = abi.encodePacked(r, s, v);
    }

    /// @dev Flags a payment above maxFuel x price. `j` is the job as it was before settling.
    function _checkPaid(JobMarket.JobView memory j, uint256 before) internal {
        uint256 got = token.balanceOf(j.provider) - before;
        if (got > uint256(j.maxFuel) * j.pricePerFuel) overpaid = true;
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}
