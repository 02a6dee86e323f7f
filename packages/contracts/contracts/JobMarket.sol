// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";

/// @title JobMarket
/// @notice Escrow and settlement for compute jobs. A requester escrows `maxPricePerFuel * maxFuel`,
/// awards the job to a provider's EIP-712 signed bid, the provider commits then reveals the result
/// hash and the fuel it used, and finalization pays `fuelUsed * pricePerFuel` and refunds the rest.
/// @dev State machine per job:
///   None -> Open -> Awarded -> Committed -> Revealed -> Finalized
///   Open -> Cancelled (requester) | Expired (past executionDeadline, never awarded)
///   Awarded | Committed -> Expired (past executionDeadline: refund + collateral slashed)
/// Every state that holds escrow or collateral has a transition that releases it.
contract JobMarket is EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    enum Status {
        None,
        Open,
        Awarded,
        Committed,
        Revealed,
        Finalized,
        Cancelled,
        Expired
    }

    struct Job {
        address requester;
        Status status;
        address provider;
        uint64 maxFuel;
        uint64 bidDeadline;
        uint64 executionDeadline;
        uint64 fuelUsed;
        uint64 revealedAt;
        bytes32 specHash;
        uint256 maxPricePerFuel;
        uint256 pricePerFuel;
        uint256 escrow;
        uint256 collateral;
        bytes32 commitment;
        bytes32 resultHash;
    }

    /// @dev Keep in lockstep with `bidTypes` in @bazaar/protocol.
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(uint256 jobId,address provider,uint256 pricePerFuel,uint64 expiry)");
    /// @notice Slash reason when an awarded provider never reveals before the execution deadline.
    bytes32 public constant SLASH_NO_REVEAL = "NO_REVEAL";

    /// @notice The payment token.
    IERC20 public immutable token;
    /// @notice Where provider stakes and collateral live.
    ProviderRegistry public immutable registry;
    /// @notice Stake locked from the awarded provider for the life of each job.
    uint256 public immutable collateralPerJob;
    /// @notice Seconds after a reveal during which only the requester may finalize.
    uint64 public immutable challengeWindow;
    /// @notice Number of jobs created; job ids run from 1 to `jobCount`.
    uint256 public jobCount;

    mapping(uint256 jobId => Job) private _jobs;

    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 specHash,
        uint256 maxPricePerFuel,
        uint64 maxFuel,
        uint256 escrow
    );
    event JobCancelled(uint256 indexed jobId, uint256 refunded);
    event JobAwarded(uint256 indexed jobId, address indexed provider, uint256 pricePerFuel, uint256 collateral);
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment);
    event ResultRevealed(uint256 indexed jobId, address indexed provider, bytes32 resultHash, uint64 fuelUsed);
    event JobFinalized(uint256 indexed jobId, address indexed provider, uint256 paid, uint256 refunded);
    event JobExpired(uint256 indexed jobId, address indexed provider, uint256 refunded, uint256 slashed);

    error JobMarket__ZeroAddress();
    error JobMarket__InvalidParams();
    error JobMarket__InvalidDeadlines();
    error JobMarket__JobNotFound(uint256 jobId);
    error JobMarket__InvalidStatus(uint256 jobId, Status status);
    error JobMarket__NotRequester();
    error JobMarket__NotProvider();
    error JobMarket__InvalidBidSignature();
    error JobMarket__BidExpired(uint64 expiry);
    error JobMarket__PriceAboveMax(uint256 pricePerFuel, uint256 maxPricePerFuel);
    error JobMarket__ProviderNotEligible(address provider);
    error JobMarket__DeadlinePassed(uint64 deadline);
    error JobMarket__NotExpired(uint64 deadline);
    error JobMarket__EmptyCommitment();
    error JobMarket__CommitmentMismatch();
    error JobMarket__FuelAboveMax(uint64 fuelUsed, uint64 maxFuel);
    error JobMarket__ChallengeWindowOpen(uint256 endsAt);

    /// @param token_ The payment token (same token the registry stakes).
    /// @param registry_ The provider registry; this market must be set as its market.
    /// @param collateralPerJob_ Stake locked from the provider per awarded job.
    /// @param challengeWindow_ Seconds after a reveal before anyone (not only the requester) may finalize.
    constructor(IERC20 token_, ProviderRegistry registry_, uint256 collateralPerJob_, uint64 challengeWindow_)
        EIP712("Bazaar JobMarket", "1")
    {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert JobMarket__ZeroAddress();
        token = token_;
        registry = registry_;
        collateralPerJob = collateralPerJob_;
        challengeWindow = challengeWindow_;
    }

    /// @notice Opens a job and escrows `maxPricePerFuel * maxFuel` tokens from the caller.
    /// @dev The caller must approve the market for the escrow first.
    /// @param specHash Content hash (sha2-256 digest of the job descriptor).
    /// @param maxPricePerFuel Highest price per fuel unit the requester accepts.
    /// @param maxFuel Fuel limit of the job; also the most that can be billed.
    /// @param bidDeadline Unix seconds when bidding closes (advisory for the off-chain auction).
    /// @param executionDeadline Unix seconds by which the provider must commit and reveal.
    /// @return jobId The new job id (ids start at 1).
    function createJob(
        bytes32 specHash,
        uint256 maxPricePerFuel,
        uint64 maxFuel,
        uint64 bidDeadline,
        uint64 executionDeadline
    ) external nonReentrant returns (uint256 jobId) {
        if (maxPricePerFuel == 0 || maxFuel == 0) revert JobMarket__InvalidParams();
        if (executionDeadline <= block.timestamp || bidDeadline > executionDeadline) {
            revert JobMarket__InvalidDeadlines();
        }
        uint256 escrow = maxPricePerFuel * maxFuel;
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.status = Status.Open;
        job.maxFuel = maxFuel;
        job.bidDeadline = bidDeadline;
        job.executionDeadline = executionDeadline;
        job.specHash = specHash;
        job.maxPricePerFuel = maxPricePerFuel;
        job.escrow = escrow;
        emit JobCreated(jobId, msg.sender, specHash, maxPricePerFuel, maxFuel, escrow);
        token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @notice Cancels an open (not yet awarded) job and refunds the whole escrow.
    /// @param jobId The job.
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage job = _requireStatus(jobId, Status.Open);
        if (msg.sender != job.requester) revert JobMarket__NotRequester();
        job.status = Status.Cancelled;
        uint256 refund = job.escrow;
        emit JobCancelled(jobId, refund);
        token.safeTransfer(job.requester, refund);
    }

    /// @notice Awards an open job to a provider's signed bid and locks the provider's collateral.
    /// @param jobId The job.
    /// @param provider The bidder; must be the EIP-712 signer of the bid and eligible in the registry.
    /// @param pricePerFuel The bid price; at most the job's `maxPricePerFuel`.
    /// @param expiry Unix seconds after which the bid is void.
    /// @param signature The provider's EIP-712 signature over Bid(jobId, provider, pricePerFuel, expiry).
    function award(uint256 jobId, address provider, uint256 pricePerFuel, uint64 expiry, bytes calldata signature)
        external
    {
        Job storage job = _requireStatus(jobId, Status.Open);
        if (msg.sender != job.requester) revert JobMarket__NotRequester();
        if (block.timestamp > job.executionDeadline) revert JobMarket__DeadlinePassed(job.executionDeadline);
        if (expiry < block.timestamp) revert JobMarket__BidExpired(expiry);
        if (pricePerFuel > job.maxPricePerFuel) revert JobMarket__PriceAboveMax(pricePerFuel, job.maxPricePerFuel);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(bidDigest(jobId, provider, pricePerFuel, expiry), signature);
        if (err != ECDSA.RecoverError.NoError || signer != provider) revert JobMarket__InvalidBidSignature();
        if (!registry.isEligible(provider)) revert JobMarket__ProviderNotEligible(provider);

        uint256 collateral = collateralPerJob;
        job.status = Status.Awarded;
        job.provider = provider;
        job.pricePerFuel = pricePerFuel;
        job.collateral = collateral;
        emit JobAwarded(jobId, provider, pricePerFuel, collateral);
        registry.lock(provider, collateral);
    }

    /// @notice The awarded provider commits to its result before revealing it.
    /// @param jobId The job.
    /// @param commitment keccak256(abi.encode(resultHash, fuelUsed, salt, provider)).
    function commitResult(uint256 jobId, bytes32 commitment) external {
        Job storage job = _requireStatus(jobId, Status.Awarded);
        if (msg.sender != job.provider) revert JobMarket__NotProvider();
        if (block.timestamp > job.executionDeadline) revert JobMarket__DeadlinePassed(job.executionDeadline);
        if (commitment == bytes32(0)) revert JobMarket__EmptyCommitment();
        job.status = Status.Committed;
        job.commitment = commitment;
        emit ResultCommitted(jobId, msg.sender, commitment);
    }

    /// @notice The awarded provider opens its commitment: the result hash and the fuel it used.
    /// @param jobId The job.
    /// @param resultHash sha2-256 digest of the output bytes.
    /// @param fuelUsed Metered fuel, at most the job's `maxFuel`; the billing unit.
    /// @param salt The secret salt used in the commitment.
    function revealResult(uint256 jobId, bytes32 resultHash, uint64 fuelUsed, bytes32 salt) external {
        Job storage job = _requireStatus(jobId, Status.Committed);
        if (msg.sender != job.provider) revert JobMarket__NotProvider();
        if (block.timestamp > job.executionDeadline) revert JobMarket__DeadlinePassed(job.executionDeadline);
        if (fuelUsed > job.maxFuel) revert JobMarket__FuelAboveMax(fuelUsed, job.maxFuel);
        if (keccak256(abi.encode(resultHash, fuelUsed, salt, msg.sender)) != job.commitment) {
            revert JobMarket__CommitmentMismatch();
        }
        job.status = Status.Revealed;
        job.resultHash = resultHash;
        job.fuelUsed = fuelUsed;
        job.revealedAt = uint64(block.timestamp);
        emit ResultRevealed(jobId, msg.sender, resultHash, fuelUsed);
    }

    /// @notice Settles a revealed job: pays the provider `fuelUsed * pricePerFuel`, refunds the rest
    /// of the escrow to the requester and unlocks the provider's collateral.
    /// @dev The requester may finalize at any time after the reveal; anyone may once the challenge
    /// window has passed, so a provider is paid even if the requester disappears.
    /// @param jobId The job.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _requireStatus(jobId, Status.Revealed);
        if (msg.sender != job.requester) {
            uint256 endsAt = uint256(job.revealedAt) + challengeWindow;
            if (block.timestamp < endsAt) revert JobMarket__ChallengeWindowOpen(endsAt);
        }
        uint256 paid = uint256(job.fuelUsed) * job.pricePerFuel;
        uint256 refunded = job.escrow - paid;
        address provider = job.provider;
        job.status = Status.Finalized;
        emit JobFinalized(jobId, provider, paid, refunded);
        registry.unlock(provider, job.collateral);
        if (paid > 0) token.safeTransfer(provider, paid);
        if (refunded > 0) token.safeTransfer(job.requester, refunded);
    }

    /// @notice Closes a job whose execution deadline passed without a reveal. Callable by anyone.
    /// @dev Awarded or Committed: full refund to the requester and the provider's collateral is
    /// slashed to the requester. Open (never awarded): full refund.
    /// @param jobId The job.
    function reclaimExpired(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert JobMarket__JobNotFound(jobId);
        if (status != Status.Open && status != Status.Awarded && status != Status.Committed) {
            revert JobMarket__InvalidStatus(jobId, status);
        }
        if (block.timestamp <= job.executionDeadline) revert JobMarket__NotExpired(job.executionDeadline);
        uint256 slashed = status == Status.Open ? 0 : job.collateral;
        uint256 refunded = job.escrow;
        job.status = Status.Expired;
        emit JobExpired(jobId, job.provider, refunded, slashed);
        if (status != Status.Open) registry.slash(job.provider, slashed, job.requester, SLASH_NO_REVEAL);
        token.safeTransfer(job.requester, refunded);
    }

    /// @notice The full record of a job (status None if it does not exist).
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice The EIP-712 digest a provider signs for a bid on this market.
    function bidDigest(uint256 jobId, address provider, uint256 pricePerFuel, uint64 expiry)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(BID_TYPEHASH, jobId, provider, pricePerFuel, expiry)));
    }

    /// @notice The EIP-712 domain separator (name "Bazaar JobMarket", version "1", this chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _requireStatus(uint256 jobId, Status expected) private view returns (Job storage job) {
        job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert JobMarket__JobNotFound(jobId);
        if (status != expected) revert JobMarket__InvalidStatus(jobId, status);
    }
}
