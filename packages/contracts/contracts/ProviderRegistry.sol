// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title ProviderRegistry
/// @notice Provider stakes, per-job collateral, unbonding, slashing, jailing and reputation.
/// @dev Stake lives in three buckets per provider: `staked` (active, counts for eligibility; part of
/// it may be `locked` as job collateral) and `unbonding` (leaving after `unbondingDelay`). Every
/// bucket stays slashable until it is withdrawn. Only holders of MARKET_ROLE (the JobMarket) may
/// lock and release collateral; only holders of SLASHER_ROLE (the JobMarket, later verification
/// contracts) may slash. The admin (DEFAULT_ADMIN_ROLE) grants those roles and sets parameters.
/// Reputation is kept here because every settlement already calls the registry: it costs no
/// extra call.
contract ProviderRegistry is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to lock and release collateral (and so record completed jobs).
    bytes32 public constant MARKET_ROLE = keccak256("MARKET_ROLE");
    /// @notice Role allowed to slash stake (and so record faults).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    uint256 private constant WAD = 1e18;

    /// @notice Tunable rules, set by the admin. Packed into one storage slot.
    struct Parameters {
        /// Active stake a provider needs to be eligible for work (token base units).
        uint128 minStake;
        /// Seconds between {requestUnbond} and {withdraw}.
        uint32 unbondingDelay;
        /// Seconds a provider stays jailed (ineligible) after `maxFaults` faults.
        uint32 jailDuration;
        /// Half-life of the reputation accumulators in seconds (0: no decay).
        uint32 reputationHalfLife;
        /// Faults (slashes) that jail a provider; counted since its last jailing. 0: never jail.
        uint16 maxFaults;
    }

    /// @notice Everything the registry holds for one provider's stake.
    struct StakeAccount {
        /// Active stake, including the locked part.
        uint256 staked;
        /// Part of `staked` locked as collateral of running jobs.
        uint256 locked;
        /// Stake on its way out; still slashable.
        uint256 unbonding;
        /// When `unbonding` may be withdrawn (unix seconds).
        uint256 unbondingReadyAt;
        /// Ineligible until this time (unix seconds); 0 if never jailed.
        uint256 jailedUntil;
        /// Faults since the last jailing.
        uint256 faults;
    }

    /// @notice A provider's track record as read by nodes for selection.
    struct Reputation {
        /// Jobs settled without fault.
        uint64 completed;
        /// Faults: missed deadlines and verifier findings (each one was a slash).
        uint64 failed;
        /// Fuel billed over completed jobs.
        uint128 unitsServed;
        /// Tokens slashed over the provider's life.
        uint256 slashedAmount;
        /// Completed jobs, exponentially decayed to now (WAD = one job).
        uint256 good;
        /// Faults, exponentially decayed to now (WAD = one fault).
        uint256 bad;
        /// Active stake now.
        uint256 stake;
        /// good / (good + bad + 1) x stake / (stake + minStake), in WAD; 0 while jailed.
        uint256 score;
    }

    struct Bonds {
        uint128 staked;
        uint128 locked;
    }

    struct Exit {
        uint128 unbonding;
        uint48 readyAt;
        uint48 jailedUntil;
        uint32 faults;
    }

    struct Record {
        uint64 completed;
        uint64 failed;
        uint128 unitsServed;
    }

    struct Decayed {
        uint96 good;
        uint96 bad;
        uint64 updatedAt;
    }

    /// @notice The staking token.
    IERC20 public immutable token;

    Parameters private _params;
    mapping(address provider => Bonds) private _bonds;
    mapping(address provider => Exit) private _exits;
    mapping(address provider => Record) private _records;
    mapping(address provider => Decayed) private _decayed;
    mapping(address provider => uint256) private _slashedAmount;

    /// @notice `provider` added `amount` to its active stake.
    event Staked(address indexed provider, uint256 amount, uint256 staked);
    /// @notice `amount` moved from active stake to unbonding, withdrawable at `readyAt`.
    event UnbondRequested(address indexed provider, uint256 amount, uint256 unbonding, uint256 readyAt);
    /// @notice The unbonding stake went back to active stake.
    event UnbondCancelled(address indexed provider, uint256 amount, uint256 staked);
    /// @notice `provider` withdrew `amount` of unbonded stake.
    event Withdrawn(address indexed provider, uint256 amount);
    /// @notice `amount` of active stake was locked as job collateral.
    event Locked(address indexed provider, uint256 amount, uint256 locked);
    /// @notice `amount` of collateral was released after a job settled without fault.
    event Released(address indexed provider, uint256 amount, uint256 locked, uint64 unitsServed);
    /// @notice `amount` was slashed and sent to `slasher`; `reason` and `evidence` say why.
    event Slashed(
        address indexed provider, address indexed slasher, uint256 amount, bytes32 reason, bytes evidence
    );
    /// @notice `provider` is ineligible until `until` after too many faults.
    event Jailed(address indexed provider, uint256 until);
    /// @notice The admin changed the parameters.
    event ParametersSet(Parameters params);

    error ProviderRegistry__ZeroAmount();
    error ProviderRegistry__ZeroAddress();
    error ProviderRegistry__AmountTooLarge(uint256 amount);
    error ProviderRegistry__InsufficientFreeStake(address provider, uint256 available, uint256 requested);
    error ProviderRegistry__NothingUnbonding(address provider);
    error ProviderRegistry__UnbondingNotReady(uint256 readyAt);
    error ProviderRegistry__NotEligible(address provider);

    /// @param token_ The staking token.
    /// @param admin The account holding DEFAULT_ADMIN_ROLE (grants roles, sets parameters).
    /// @param params Initial parameters.
    constructor(IERC20 token_, address admin, Parameters memory params) {
        if (address(token_) == address(0) || admin == address(0)) revert ProviderRegistry__ZeroAddress();
        token = token_;
        _params = params;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit ParametersSet(params);
    }

    // ---------------------------------------------------------------- provider actions

    /// @notice Adds `amount` to the caller's active stake (first stake or top-up).
    /// @dev The caller must approve the registry for `amount` first; see {stakeWithPermit}.
    /// @param amount Amount in token base units.
    function stake(uint256 amount) external nonReentrant {
        _stake(amount);
    }

    /// @notice Approves by EIP-2612 permit and stakes in one transaction.
    /// @dev A failed permit is ignored when the allowance is already there (a front-run permit
    /// must not block the stake).
    /// @param amount Amount in token base units (also the permit value).
    /// @param deadline Permit deadline (unix seconds).
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(amount);
    }

    /// @notice Starts unbonding `amount` of the caller's free (unlocked) active stake. It stops
    /// counting for eligibility now, stays slashable, and can be withdrawn after `unbondingDelay`.
    /// @dev A second request adds to the unbonding amount and restarts the delay.
    /// @param amount Amount in token base units.
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert ProviderRegistry__ZeroAmount();
        Bonds storage bonds = _bonds[msg.sender];
        uint256 free = uint256(bonds.staked) - bonds.locked;
        if (amount > free) revert ProviderRegistry__InsufficientFreeStake(msg.sender, free, amount);
        bonds.staked -= uint128(amount);
        Exit storage exit = _exits[msg.sender];
        uint256 unbonding = uint256(exit.unbonding) + amount;
        uint256 readyAt = block.timestamp + _params.unbondingDelay;
        exit.unbonding = uint128(unbonding);
        exit.readyAt = uint48(readyAt);
        emit UnbondRequested(msg.sender, amount, unbonding, readyAt);
    }

    /// @notice Moves all of the caller's unbonding stake back to active stake.
    function cancelUnbonding() external {
        Exit storage exit = _exits[msg.sender];
        uint256 amount = exit.unbonding;
        if (amount == 0) revert ProviderRegistry__NothingUnbonding(msg.sender);
        exit.unbonding = 0;
        exit.readyAt = 0;
        Bonds storage bonds = _bonds[msg.sender];
        bonds.staked += uint128(amount);
        emit UnbondCancelled(msg.sender, amount, bonds.staked);
    }

    /// @notice Withdraws all of the caller's unbonding stake once the unbonding delay has passed.
    function withdraw() external nonReentrant {
        Exit storage exit = _exits[msg.sender];
        uint256 amount = exit.unbonding;
        if (amount == 0) revert ProviderRegistry__NothingUnbonding(msg.sender);
        if (block.timestamp < exit.readyAt) revert ProviderRegistry__UnbondingNotReady(exit.readyAt);
        exit.unbonding = 0;
        exit.readyAt = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- market and verifiers

    /// @notice Locks `amount` of `provider`'s free active stake as collateral for a job.
    /// @dev Only MARKET_ROLE. Reverts unless the provider is eligible (staked at least `minStake`,
    /// not jailed), so the market needs no separate eligibility call.
    /// @param provider The awarded provider.
    /// @param amount Collateral in token base units (may be 0).
    function lock(address provider, uint256 amount) external onlyRole(MARKET_ROLE) {
        Bonds storage bonds = _bonds[provider];
        uint256 staked = bonds.staked;
        if (!_eligible(provider, staked)) revert ProviderRegistry__NotEligible(provider);
        uint256 free = staked - bonds.locked;
        if (amount > free) revert ProviderRegistry__InsufficientFreeStake(provider, free, amount);
        uint256 locked = uint256(bonds.locked) + amount;
        bonds.locked = uint128(locked);
        emit Locked(provider, amount, locked);
    }

    /// @notice Releases a job's collateral after it settled without fault, and records the job as
    /// completed with `unitsServed` fuel billed.
    /// @dev Only MARKET_ROLE. Never reverts for want of locked stake (a slasher may have taken it
    /// first), so a settlement can never be blocked here.
    /// @param provider The provider.
    /// @param amount The collateral locked for the job.
    /// @param unitsServed Fuel billed for the job.
    function release(address provider, uint256 amount, uint64 unitsServed) external onlyRole(MARKET_ROLE) {
        Bonds storage bonds = _bonds[provider];
        uint256 locked = bonds.locked;
        uint256 freed = amount < locked ? amount : locked;
        locked -= freed;
        bonds.locked = uint128(locked);
        Record storage record = _records[provider];
        record.completed += 1;
        record.unitsServed += unitsServed;
        _addScore(provider, true);
        emit Released(provider, freed, locked, unitsServed);
    }

    /// @notice Slashes up to `amount` of `provider`'s stake (locked collateral first, then free
    /// active stake, then unbonding stake) and sends it to the caller, which decides where it goes
    /// (the market compensates the requester). Counts one fault; enough faults jail the provider.
    /// @dev Only SLASHER_ROLE. Takes what is there instead of reverting, so a settlement that
    /// slashes can never be blocked here.
    /// @param provider The faulty provider.
    /// @param amount Most to slash, in token base units (0 records the fault only).
    /// @param reason A short code naming the fault (e.g. "MISSED_COMMIT").
    /// @param evidence ABI-encoded facts of the fault (e.g. job id and the missed deadline).
    /// @return slashed What was actually taken.
    function slash(address provider, uint256 amount, bytes32 reason, bytes calldata evidence)
        external
        onlyRole(SLASHER_ROLE)
        nonReentrant
        returns (uint256 slashed)
    {
        slashed = _take(provider, amount);
        _records[provider].failed += 1;
        _slashedAmount[provider] += slashed;
        _addScore(provider, false);
        (bool jailed, uint256 until) = _countFault(provider);
        emit Slashed(provider, msg.sender, slashed, reason, evidence);
        if (jailed) emit Jailed(provider, until);
        if (slashed > 0) token.safeTransfer(msg.sender, slashed);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Replaces the parameters. Applies to later calls (an unbonding already requested
    /// keeps its ready time; a jail already running keeps its end).
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param params The new parameters.
    function setParameters(Parameters calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _params = params;
        emit ParametersSet(params);
    }

    // ---------------------------------------------------------------- views

    /// @notice The current parameters.
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @notice Minimum active stake for eligibility.
    function minStake() external view returns (uint256) {
        return _params.minStake;
    }

    /// @notice Active stake of `provider` (locked part included, unbonding excluded).
    function stakeOf(address provider) external view returns (uint256) {
        return _bonds[provider].staked;
    }

    /// @notice Part of `provider`'s active stake locked as job collateral.
    function lockedOf(address provider) external view returns (uint256) {
        return _bonds[provider].locked;
    }

    /// @notice Part of `provider`'s active stake that can be locked or unbonded.
    function availableOf(address provider) external view returns (uint256) {
        Bonds memory bonds = _bonds[provider];
        return uint256(bonds.staked) - bonds.locked;
    }

    /// @notice Every stake bucket of `provider`, plus its jail and fault state.
    function accountOf(address provider) external view returns (StakeAccount memory account) {
        Bonds memory bonds = _bonds[provider];
        Exit memory exit = _exits[provider];
        account = StakeAccount({
            staked: bonds.staked,
            locked: bonds.locked,
            unbonding: exit.unbonding,
            unbondingReadyAt: exit.readyAt,
            jailedUntil: exit.jailedUntil,
            faults: exit.faults
        });
    }

    /// @notice Whether `provider` may be awarded jobs: active stake at least `minStake` (and
    /// non-zero) and not jailed.
    function isEligible(address provider) external view returns (bool) {
        return _eligible(provider, _bonds[provider].staked);
    }

    /// @notice `provider`'s counters and its stake-weighted, decayed score.
    function reputationOf(address provider) external view returns (Reputation memory rep) {
        Record memory record = _records[provider];
        Decayed memory decayed = _decayed[provider];
        uint256 elapsed = block.timestamp - decayed.updatedAt;
        uint256 halfLife = _params.reputationHalfLife;
        rep.completed = record.completed;
        rep.failed = record.failed;
        rep.unitsServed = record.unitsServed;
        rep.slashedAmount = _slashedAmount[provider];
        rep.good = _decay(decayed.good, elapsed, halfLife);
        rep.bad = _decay(decayed.bad, elapsed, halfLife);
        rep.stake = _bonds[provider].staked;
        if (rep.stake == 0 || _exits[provider].jailedUntil > block.timestamp) return rep;
        uint256 minimum = _params.minStake == 0 ? 1 : _params.minStake;
        uint256 quality = (rep.good * WAD) / (rep.good + rep.bad + WAD);
        uint256 stakeWeight = (rep.stake * WAD) / (rep.stake + minimum);
        rep.score = (quality * stakeWeight) / WAD;
    }

    // ---------------------------------------------------------------- internals

    function _stake(uint256 amount) private {
        if (amount == 0) revert ProviderRegistry__ZeroAmount();
        Bonds storage bonds = _bonds[msg.sender];
        uint256 staked = uint256(bonds.staked) + amount;
        if (staked > type(uint128).max) revert ProviderRegistry__AmountTooLarge(amount);
        bonds.staked = uint128(staked);
        emit Staked(msg.sender, amount, staked);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Removes up to `amount` from the provider's buckets: locked, free active, unbonding.
    function _take(address provider, uint256 amount) private returns (uint256) {
        Bonds storage bonds = _bonds[provider];
        Exit storage exit = _exits[provider];
        uint256 staked = bonds.staked;
        uint256 locked = bonds.locked;
        uint256 unbonding = exit.unbonding;
        uint256 remaining = amount;
        // Locked collateral first: it was put up for exactly this.
        uint256 take = remaining < locked ? remaining : locked;
        locked -= take;
        staked -= take;
        remaining -= take;
        // Then free active stake.
        take = remaining < staked - locked ? remaining : staked - locked;
        staked -= take;
        remaining -= take;
        // Then stake on its way out.
        take = remaining < unbonding ? remaining : unbonding;
        unbonding -= take;
        remaining -= take;
        bonds.staked = uint128(staked);
        bonds.locked = uint128(locked);
        exit.unbonding = uint128(unbonding);
        return amount - remaining;
    }

    /// @dev Counts a fault; at `maxFaults` jails the provider for `jailDuration` and resets the count.
    function _countFault(address provider) private returns (bool jailed, uint256 until) {
        Exit storage exit = _exits[provider];
        Parameters memory params = _params;
        uint256 faults = uint256(exit.faults) + 1;
        jailed = params.maxFaults != 0 && faults >= params.maxFaults;
        exit.faults = jailed ? 0 : uint32(faults);
        if (jailed) {
            until = block.timestamp + params.jailDuration;
            exit.jailedUntil = uint48(until);
        }
    }

    function _eligible(address provider, uint256 staked) private view returns (bool) {
        return staked > 0 && staked >= _params.minStake && _exits[provider].jailedUntil <= block.timestamp;
    }

    /// @dev Decays both accumulators to now, then adds one job to `good` or one fault to `bad`.
    function _addScore(address provider, bool good) private {
        Decayed storage d = _decayed[provider];
        uint256 elapsed = block.timestamp - d.updatedAt;
        uint256 halfLife = _params.reputationHalfLife;
        uint256 g = _decay(d.good, elapsed, halfLife);
        uint256 b = _decay(d.bad, elapsed, halfLife);
        if (good) g += WAD;
        else b += WAD;
        // 2^96 / 1e18 is ~79 billion jobs: saturate rather than overflow.
        d.good = uint96(g > type(uint96).max ? type(uint96).max : g);
        d.bad = uint96(b > type(uint96).max ? type(uint96).max : b);
        d.updatedAt = uint64(block.timestamp);
    }

    /// @dev value x 2^(-elapsed/halfLife): whole half-lives by shifting, the remainder by linear
    /// interpolation between v and v/2 (never above the exact curve by more than ~6%).
    function _decay(uint256 value, uint256 elapsed, uint256 halfLife) private pure returns (uint256) {
        if (halfLife == 0 || value == 0) return value;
        uint256 halvings = elapsed / halfLife;
        if (halvings >= 96) return 0;
        value >>= halvings;
        uint256 rest = elapsed % halfLife;
        return value - (value * rest) / (2 * halfLife);
    }
}
