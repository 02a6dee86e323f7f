// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title ProviderRegistry
/// @notice Holds provider stakes. A provider is eligible for work while its stake is at least
/// `minStake`. The JobMarket locks part of the stake as per-job collateral, unlocks it when the
/// job settles and slashes it when the provider fails; locked stake cannot be withdrawn.
contract ProviderRegistry is Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The staking token.
    IERC20 public immutable token;
    /// @notice Minimum stake for a provider to be eligible.
    uint256 public immutable minStake;
    /// @notice The only contract allowed to lock, unlock and slash. Set once by the owner.
    address public market;

    mapping(address provider => uint256) private _stakes;
    mapping(address provider => uint256) private _locked;

    event Staked(address indexed provider, uint256 amount, uint256 totalStake);
    event Unstaked(address indexed provider, uint256 amount, uint256 totalStake);
    event Locked(address indexed provider, uint256 amount, uint256 totalLocked);
    event Unlocked(address indexed provider, uint256 amount, uint256 totalLocked);
    event Slashed(address indexed provider, address indexed recipient, uint256 amount, bytes32 reason);
    event MarketSet(address indexed market);

    error ProviderRegistry__ZeroAmount();
    error ProviderRegistry__ZeroAddress();
    error ProviderRegistry__MarketAlreadySet();
    error ProviderRegistry__NotMarket(address caller);
    error ProviderRegistry__InsufficientUnlockedStake(address provider, uint256 available, uint256 requested);
    error ProviderRegistry__InsufficientLocked(address provider, uint256 locked, uint256 requested);

    modifier onlyMarket() {
        if (msg.sender != market) revert ProviderRegistry__NotMarket(msg.sender);
        _;
    }

    /// @param token_ The staking token.
    /// @param minStake_ Minimum stake for eligibility, in token base units.
    /// @param initialOwner The deployer, allowed to call {setMarket} once.
    constructor(IERC20 token_, uint256 minStake_, address initialOwner) Ownable(initialOwner) {
        if (address(token_) == address(0)) revert ProviderRegistry__ZeroAddress();
        token = token_;
        minStake = minStake_;
    }

    /// @notice Wires the market contract. One-shot: the market is deployed after the registry.
    /// @param market_ The JobMarket address.
    function setMarket(address market_) external onlyOwner {
        if (market != address(0)) revert ProviderRegistry__MarketAlreadySet();
        if (market_ == address(0)) revert ProviderRegistry__ZeroAddress();
        market = market_;
        emit MarketSet(market_);
    }

    /// @notice Adds `amount` to the caller's stake. The caller must approve the registry first.
    /// @param amount Amount in token base units.
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ProviderRegistry__ZeroAmount();
        uint256 total = _stakes[msg.sender] + amount;
        _stakes[msg.sender] = total;
        emit Staked(msg.sender, amount, total);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraws `amount` of the caller's stake that is not locked as job collateral.
    /// @param amount Amount in token base units.
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ProviderRegistry__ZeroAmount();
        uint256 available = _stakes[msg.sender] - _locked[msg.sender];
        if (amount > available) {
            revert ProviderRegistry__InsufficientUnlockedStake(msg.sender, available, amount);
        }
        uint256 total = _stakes[msg.sender] - amount;
        _stakes[msg.sender] = total;
        emit Unstaked(msg.sender, amount, total);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Locks `amount` of `provider`'s free stake as collateral for a job.
    /// @dev Only the market.
    function lock(address provider, uint256 amount) external onlyMarket {
        uint256 available = _stakes[provider] - _locked[provider];
        if (amount > available) revert ProviderRegistry__InsufficientUnlockedStake(provider, available, amount);
        uint256 total = _locked[provider] + amount;
        _locked[provider] = total;
        emit Locked(provider, amount, total);
    }

    /// @notice Releases `amount` of `provider`'s locked collateral.
    /// @dev Only the market.
    function unlock(address provider, uint256 amount) external onlyMarket {
        uint256 locked = _locked[provider];
        if (amount > locked) revert ProviderRegistry__InsufficientLocked(provider, locked, amount);
        uint256 total = locked - amount;
        _locked[provider] = total;
        emit Unlocked(provider, amount, total);
    }

    /// @notice Takes `amount` of `provider`'s locked collateral and sends it to `recipient`
    /// (the harmed requester or a treasury).
    /// @dev Only the market. The amount leaves both the locked counter and the stake.
    /// @param reason A short code naming the fault (e.g. "NO_REVEAL"); kept in {Slashed} as evidence.
    function slash(address provider, uint256 amount, address recipient, bytes32 reason)
        external
        onlyMarket
        nonReentrant
    {
        if (recipient == address(0)) revert ProviderRegistry__ZeroAddress();
        uint256 locked = _locked[provider];
        if (amount > locked) revert ProviderRegistry__InsufficientLocked(provider, locked, amount);
        _locked[provider] = locked - amount;
        _stakes[provider] -= amount;
        emit Slashed(provider, recipient, amount, reason);
        if (amount > 0) token.safeTransfer(recipient, amount);
    }

    /// @notice Total stake of `provider`, locked or not.
    function stakeOf(address provider) external view returns (uint256) {
        return _stakes[provider];
    }

    /// @notice Part of `provider`'s stake locked as job collateral.
    function lockedOf(address provider) external view returns (uint256) {
        return _locked[provider];
    }

    /// @notice Part of `provider`'s stake that can be withdrawn or locked.
    function availableOf(address provider) external view returns (uint256) {
        return _stakes[provider] - _locked[provider];
    }

    /// @notice Whether `provider` may be awarded jobs (stake at least `minStake`).
    function isEligible(address provider) external view returns (bool) {
        return _stakes[provider] >= minStake && _stakes[provider] > 0;
    }
}
