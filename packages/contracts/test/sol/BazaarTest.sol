// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ComputeToken} from "../../contracts/ComputeToken.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {vm} from "./Vm.sol";

/// @title BazaarTest
/// @notice Shared fixture of the Solidity tests: the three contracts deployed and wired as
/// `deployBazaar` wires them (the market holds the registry's MARKET_ROLE and SLASHER_ROLE), a
/// funded requester, two staked providers with private keys (so bids and permits are signed
/// with `vm.sign`), and helpers that walk a job through its states and check conservation.
/// This contract is the admin of the registry and the market and the token's owner.
abstract contract BazaarTest {
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant FAUCET = 1_000_000 ether;
    uint128 internal constant MIN_STAKE = 100 ether;
    uint256 internal constant MIN_COLLATERAL = 10 ether;
    uint32 internal constant CHALLENGE_WINDOW = 3600;
    uint32 internal constant UNBONDING_DELAY = 7 days;
    uint32 internal constant JAIL_DURATION = 1 days;
    uint32 internal constant HALF_LIFE = 30 days;
    uint16 internal constant MAX_FAULTS = 3;
    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant COLLATERAL_BPS = 1_000;
    uint64 internal constant AWARD_WINDOW = 600;
    uint32 internal constant COMMIT_WINDOW = 600;
    uint32 internal constant REVEAL_WINDOW = 300;
    uint256 internal constant MAX_PRICE = 1_000_000_000;
    uint64 internal constant MAX_FUEL = 5_000_000;

    uint256 internal constant REQUESTER_KEY = 0xA11CE;
    uint256 internal constant PROVIDER_KEY = 0xB0B;
    uint256 internal constant PROVIDER2_KEY = 0xCAFE;
    uint256 internal constant STRANGER_KEY = 0xD00D;

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    ComputeToken internal token;
    ProviderRegistry internal registry;
    JobMarket internal market;

    address internal requester;
    address internal provider;
    address internal provider2;
    address internal stranger;
    address internal treasury = address(0x7EA5);
    address internal verifier = address(0x7E21F1E2);

    /// @dev Every account that may hold tokens besides the two contracts, for conservation checks.
    address[] internal holders;

    function setUp() public virtual {
        vm.warp(T0);
        requester = vm.addr(REQUESTER_KEY);
        provider = vm.addr(PROVIDER_KEY);
        provider2 = vm.addr(PROVIDER2_KEY);
        stranger = vm.addr(STRANGER_KEY);
        vm.label(requester, "requester");
        vm.label(provider, "provider");
        vm.label(provider2, "provider2");
        vm.label(stranger, "stranger");

        token = new ComputeToken(address(this));
        registry = new ProviderRegistry(IERC20(address(token)), address(this), defaultParameters());
        market = new JobMarket(IERC20(address(token)), registry, address(this), defaultConfig());
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        registry.grantRole(registry.SLASHER_ROLE(), address(market));

        holders = [requester, provider, provider2, stranger, treasury, verifier, address(this)];
        for (uint256 i = 0; i < 4; i++) token.mint(holders[i], FAUCET);
        vm.prank(requester);
        token.approve(address(market), type(uint256).max);
        stakeAs(provider, MIN_STAKE);
        stakeAs(provider2, MIN_STAKE);
    }

    function defaultParameters() internal pure returns (ProviderRegistry.Parameters memory) {
        return ProviderRegistry.Parameters({
            minStake: MIN_STAKE,
            unbondingDelay: UNBONDING_DELAY,
            jailDuration: JAIL_DURATION,
            reputationHalfLife: HALF_LIFE,
            maxFaults: MAX_FAULTS
        });
    }

    function defaultConfig() internal view returns (JobMarket.MarketConfig memory) {
        return JobMarket.MarketConfig({
            challengeWindow: CHALLENGE_WINDOW,
            treasury: treasury,
            feeBps: FEE_BPS,
            collateralBps: COLLATERAL_BPS,
            minCollateral: MIN_COLLATERAL
        });
    }

    // ---------------------------------------------------------------- actions

    function stakeAs(address who, uint256 amount) internal {
        vm.startPrank(who);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
    }

    function jobParams(uint256 maxPrice, uint64 maxFuel) internal view returns (JobMarket.JobParams memory) {
        return JobMarket.JobParams({
            specHash: keccak256("spec"),
            maxPricePerFuel: maxPrice,
            maxFuel: maxFuel,
            bidDeadline: uint64(vm.getBlockTimestamp() + AWARD_WINDOW / 2),
            awardDeadline: uint64(vm.getBlockTimestamp() + AWARD_WINDOW),
            commitWindow: COMMIT_WINDOW,
            revealWindow: REVEAL_WINDOW
        });
    }

    function createJob(uint256 maxPrice, uint64 maxFuel) internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.createJob(jobParams(maxPrice, maxFuel));
    }

    function createDefaultJob() internal returns (uint256) {
        return createJob(MAX_PRICE, MAX_FUEL);
    }

    /// @dev 65-byte EIP-712 bid signature by `key` over the market's Bid digest.
    function signBid(uint256 key, uint256 jobId, address bidder, uint256 price, uint64 expiry)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.bidDigest(jobId, bidder, price, expiry));
        return abi.encodePacked(r, s, v);
    }

    function bidExpiry() internal view returns (uint64) {
        return uint64(vm.getBlockTimestamp() + 300);
    }

    function awardTo(uint256 jobId, uint256 key, uint256 price) internal {
        address bidder = vm.addr(key);
        uint64 expiry = bidExpiry();
        bytes memory sig = signBid(key, jobId, bidder, price, expiry);
        vm.prank(requester);
        market.award(jobId, bidder, price, expiry, sig);
    }

    function commitment(bytes32 resultHash, uint64 fuelUsed, bytes32 salt, address by)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(resultHash, fuelUsed, salt, by));
    }

    function commitAs(address by, uint256 jobId, bytes32 resultHash, uint64 fuelUsed) internal {
        vm.prank(by);
        market.commitResult(jobId, commitment(resultHash, fuelUsed, keccak256("salt"), by));
    }

    function revealAs(address by, uint256 jobId, bytes32 resultHash, uint64 fuelUsed) internal {
        vm.prank(by);
        market.revealResult(jobId, resultHash, fuelUsed, keccak256("salt"));
    }

    /// @dev Awards to `provider` at `price`, commits and reveals `fuelUsed`.
    function runToRevealed(uint256 jobId, uint256 price, uint64 fuelUsed) internal {
        awardTo(jobId, PROVIDER_KEY, price);
        commitAs(provider, jobId, keccak256("result"), fuelUsed);
        revealAs(provider, jobId, keccak256("result"), fuelUsed);
    }

    /// @dev EIP-2612 permit signature by `key` for the token.
    function signPermit(uint256 key, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return signPermitAs(key, vm.addr(key), spender, value, deadline);
    }

    /// @dev A permit naming `owner` signed by `key` (a forgery unless `key` is the owner's).
    function signPermitAs(uint256 key, address owner, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, token.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key, digest);
    }

    // ---------------------------------------------------------------- checks

    /// @dev Token conservation: the supply is exactly what the known accounts hold plus what the
    /// market (escrow and owed payments) and the registry (stakes) hold.
    function assertConservation() internal view {
        uint256 sum = token.balanceOf(address(market)) + token.balanceOf(address(registry));
        for (uint256 i = 0; i < holders.length; i++) {
            sum += token.balanceOf(holders[i]);
        }
        vm.assertEq(sum, token.totalSupply(), "supply == balances + escrow + stake");
    }

    /// @dev The registry holds exactly the active and unbonding stake of the providers, and no
    /// collateral stays locked.
    function assertRegistryBacked(address[] memory providers) internal view {
        uint256 stakes;
        for (uint256 i = 0; i < providers.length; i++) {
            ProviderRegistry.StakeAccount memory account = registry.accountOf(providers[i]);
            stakes += account.staked + account.unbonding;
            vm.assertEq(account.locked, 0, "no collateral locked after a terminal state");
        }
        vm.assertEq(token.balanceOf(address(registry)), stakes, "registry balance == stakes");
    }

    /// @dev No escrow or collateral stays locked: the market holds nothing, the providers' collateral is free.
    function assertNothingLocked() internal view {
        vm.assertEq(token.balanceOf(address(market)), 0, "market holds no funds after terminal states");
        address[] memory providers = new address[](2);
        providers[0] = provider;
        providers[1] = provider2;
        assertRegistryBacked(providers);
        assertConservation();
    }

    /// @dev forge-std's `bound`: maps `x` into [min, max] without discarding fuzz runs.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        return min + (x % size);
    }

    function statusOf(uint256 jobId) internal view returns (JobMarket.Status) {
        return market.getJob(jobId).status;
    }
}
