// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IRevealGate} from "./IRevealGate.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";

/// @title JobMarket
/// @notice Escrow and settlement for compute jobs. A requester escrows `maxPricePerFuel * maxFuel`,
/// awards the job to a provider's EIP-712 signed bid (locking collateral from the provider's stake),
/// the provider commits to and then reveals a result hash and the fuel it used, and finalization
/// pays `fuelUsed * pricePerFuel` (less the protocol fee) and refunds the rest.
/// @dev State machine per job, each waiting state with its deadline:
///   Open      --award (until awardDeadline)------------> Awarded
///   Open      --cancelJob (requester, any time)--------> Cancelled  (full refund)
///   Open      --reclaimExpired (after awardDeadline)---> Expired    (full refund)
///   Awarded   --commitResult (until award + commitWindow)> Committed
///   Committed --revealResult (until commit + revealWindow)> Revealed
///   Awarded|Committed --reclaimExpired (after the deadline)--> Expired (full refund + collateral)
///   Awarded|Committed --reaward (requester, after the deadline)--> Awarded (new provider)
///   Revealed  --finalize (requester any time; anyone after challengeWindow)--> Finalized
///   Awarded|Committed|Revealed --settleByVerifier (VERIFIER_ROLE)--> Finalized
/// A verification contract (VERIFIER_ROLE) may put an awarded, committed or revealed job on hold
/// ({holdForVerification}): then only that contract settles it (no {finalize}, no {reaward}), and
/// it must, within its own deadlines; {reclaimExpired} still applies to a missed commit or reveal.
/// Every state that holds escrow or collateral has a transition that anyone can trigger once a
/// deadline passes, so no funds stay locked. Payments are pushed; a transfer the recipient refuses
/// is credited to {owed} and claimed later, so no recipient can block a settlement.
/// Storage keeps job terms apart from the provider's assignment (slot 0 today) so that k-of-n
/// replication can add slots without moving the terms.
contract JobMarket is EIP712, AccessControl, ReentrancyGuardTransient {
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

    /// @notice What a requester asks for when it creates a job.
    struct JobParams {
        /// Content hash (sha2-256 digest) of the job descriptor.
        bytes32 specHash;
        /// Highest price per fuel unit the requester accepts (at most 2^96-1).
        uint256 maxPricePerFuel;
        /// Fuel limit; also the most that can be billed.
        uint64 maxFuel;
        /// When the requester stops collecting bids (unix seconds; informs providers; <= awardDeadline).
        uint64 bidDeadline;
        /// Last moment to award (unix seconds); afterwards anyone may reclaim an unawarded job.
        uint64 awardDeadline;
        /// Seconds the awarded provider has, from the award, to commit its result.
        uint32 commitWindow;
        /// Seconds the provider has, from its commit, to reveal.
        uint32 revealWindow;
    }

    /// @notice Market-wide rules; the admin may change fee and collateral policy later.
    struct MarketConfig {
        /// Seconds after a reveal during which only the requester (or a verifier) may finalize.
        uint32 challengeWindow;
        /// Receives the protocol fee.
        address treasury;
        /// Protocol fee in basis points of each payment to a provider (at most MAX_FEE_BPS).
        uint16 feeBps;
        /// Collateral locked per job, in basis points of the provider's most possible earnings.
        uint16 collateralBps;
        /// Least collateral locked per job (token base units).
        uint256 minCollateral;
    }

    /// @notice One job and its (single, for now) assignment, as returned by {getJob}.
    struct JobView {
        address requester;
        Status status;
        uint16 feeBps;
        uint32 commitWindow;
        uint32 revealWindow;
        bytes32 specHash;
        uint256 maxPricePerFuel;
        uint64 maxFuel;
        uint64 bidDeadline;
        uint64 awardDeadline;
        uint256 escrow;
        address provider;
        uint256 pricePerFuel;
        uint256 collateral;
        /// Deadline of the current phase: award while Open, commit while Awarded, reveal while Committed.
        uint64 deadline;
        bytes32 commitment;
        bytes32 resultHash;
        uint64 fuelUsed;
        uint64 revealedAt;
        /// True while a verification contract holds the job (only it settles).
        bool held;
    }

    struct Job {
        // slot 0
        address requester;
        Status status;
        uint16 feeBps;
        uint32 commitWindow;
        uint32 revealWindow;
        /// Set by a verification contract: only it may settle the job.
        bool held;
        // slot 1
        uint96 maxPricePerFuel;
        uint64 maxFuel;
        uint48 bidDeadline;
        uint48 awardDeadline;
        // slot 2
        bytes32 specHash;
    }

    struct Assignment {
        // slot 0
        address provider;
        uint48 deadline;
        uint48 revealedAt;
        // slot 1
        uint96 pricePerFuel;
        uint64 fuelUsed;
        uint96 collateral;
        // slots 2, 3
        bytes32 commitment;
        bytes32 resultHash;
    }

    /// @dev Keep in lockstep with `bidTypes` in @bazaar/protocol.
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(uint256 jobId,address provider,uint256 pricePerFuel,uint64 expiry)");
    /// @notice Role of verification contracts allowed to settle (and slash on) a job.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice Highest protocol fee: 10%.
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Highest collateral rate: 100% of the provider's most possible earnings.
    uint16 public constant MAX_COLLATERAL_BPS = 10_000;
    /// @notice Slash reason: the awarded provider did not commit before its deadline.
    bytes32 public constant SLASH_MISSED_COMMIT = "MISSED_COMMIT";
    /// @notice Slash reason: the provider committed but did not reveal before its deadline.
    bytes32 public constant SLASH_MISSED_REVEAL = "MISSED_REVEAL";

    /// @notice The payment token.
    IERC20 public immutable token;
    /// @notice Where provider stakes and collateral live.
    ProviderRegistry public immutable registry;
    /// @notice Seconds after a reveal during which only the requester (or a verifier) may finalize.
    uint64 public immutable challengeWindow;
    /// @notice Number of jobs created; job ids run from 1 to `jobCount`.
    uint256 public jobCount;
    /// @notice Receives the protocol fee.
    address public treasury;
    /// @notice Protocol fee in basis points; snapshotted into each job at creation.
    uint16 public feeBps;
    /// @notice Collateral rate in basis points of price x maxFuel.
    uint16 public collateralBps;
    /// @notice Least collateral per job.
    uint256 public minCollateral;
    /// @notice Payments a recipient refused (e.g. a reverting token hook), claimable with {claim}.
    mapping(address account => uint256) public owed;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => mapping(uint256 slot => Assignment)) private _assignments;
    /// A gated job's reveal gate and least reveal deadline (set by {holdGated}; none: ungated).
    struct RevealGate {
        address gate;
        uint64 floor;
    }

    mapping(uint256 jobId => RevealGate) private _revealGates;

    /// @notice A job was opened and `escrow` tokens taken from the requester.
    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 specHash,
        uint256 maxPricePerFuel,
        uint64 maxFuel,
        uint256 escrow,
        uint64 bidDeadline,
        uint64 awardDeadline
    );
    /// @notice The requester cancelled an open job; the whole escrow went back.
    event JobCancelled(uint256 indexed jobId, uint256 refunded);
    /// @notice The job was awarded; `collateral` was locked and the provider must commit by `deadline`.
    event JobAwarded(
        uint256 indexed jobId, address indexed provider, uint256 pricePerFuel, uint256 collateral, uint64 deadline
    );
    /// @notice The provider committed; it must reveal by `deadline`.
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment, uint64 deadline);
    /// @notice The provider revealed its result hash and fuel used.
    event ResultRevealed(uint256 indexed jobId, address indexed provider, bytes32 resultHash, uint64 fuelUsed);
    /// @notice The job settled: `paid` came out of escrow (of which `fee` to the treasury) and `refunded` went back.
    event JobFinalized(
        uint256 indexed jobId, address indexed provider, uint256 paid, uint256 fee, uint256 refunded
    );
    /// @notice A verification contract took the job on hold; only it settles the job from now on.
    event JobHeld(uint256 indexed jobId, address indexed verifier);
    /// @notice A verifier settled the job; `slashed` (0 unless it found the provider at fault) went
    /// to the verifier, which shares it out (requester, referees, challenger).
    event JobSettledByVerifier(
        uint256 indexed jobId, address indexed verifier, uint256 paid, uint256 fee, uint256 refunded, uint256 slashed, bytes32 reason
    );
    /// @notice A deadline passed: the escrow went back and `slashed` collateral compensated the requester.
    event JobExpired(uint256 indexed jobId, address indexed provider, uint256 refunded, uint256 slashed);
    /// @notice The requester replaced a provider that missed its deadline; `slashed` went to the requester.
    event ProviderReplaced(uint256 indexed jobId, address indexed previous, uint256 slashed);
    /// @notice A transfer to `account` failed; `amount` is claimable with {claim}.
    event PaymentDeferred(address indexed account, uint256 amount);
    /// @notice `account` claimed `amount` of deferred payments.
    event Claimed(address indexed account, uint256 amount);
    /// @notice The admin changed the fee.
    event FeeSet(address treasury, uint16 feeBps);
    /// @notice The admin changed the collateral policy.
    event CollateralPolicySet(uint256 minCollateral, uint16 collateralBps);

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
    error JobMarket__DeadlinePassed(uint64 deadline);
    error JobMarket__NotExpired(uint64 deadline);
    error JobMarket__EmptyCommitment();
    error JobMarket__CommitmentMismatch();
    error JobMarket__FuelAboveMax(uint64 fuelUsed, uint64 maxFuel);
    error JobMarket__ChallengeWindowOpen(uint256 endsAt);
    error JobMarket__SameProvider(address provider);
    error JobMarket__FeeTooHigh(uint16 feeBps);
    error JobMarket__CollateralTooHigh(uint16 collateralBps);
    error JobMarket__NothingOwed();
    error JobMarket__OnHold(uint256 jobId);
    error JobMarket__RevealBarred(uint256 jobId);

    /// @param token_ The payment token (same token the registry stakes).
    /// @param registry_ The provider registry; this market needs its MARKET_ROLE and SLASHER_ROLE.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (fee, collateral policy, verifier roles).
    /// @param config Challenge window, fee and collateral policy.
    constructor(IERC20 token_, ProviderRegistry registry_, address admin, MarketConfig memory config)
        EIP712("Bazaar JobMarket", "1")
    {
        if (address(token_) == address(0) || address(registry_) == address(0) || admin == address(0)) {
            revert JobMarket__ZeroAddress();
        }
        token = token_;
        registry = registry_;
        challengeWindow = config.challengeWindow;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setFee(config.treasury, config.feeBps);
        _setCollateralPolicy(config.minCollateral, config.collateralBps);
    }

    // ---------------------------------------------------------------- requester

    /// @notice Opens a job and escrows `maxPricePerFuel * maxFuel` tokens from the caller.
    /// @dev The caller must approve the market for the escrow first; see {createJobWithPermit}.
    /// @param params The job's terms and deadlines.
    /// @return jobId The new job id (ids start at 1).
    function createJob(JobParams calldata params) external nonReentrant returns (uint256 jobId) {
        return _createJob(params);
    }

    /// @notice Approves the escrow by EIP-2612 permit and opens the job, in one transaction.
    /// @dev The permit value must cover `maxPricePerFuel * maxFuel`. A failed permit is ignored
    /// when the allowance is already there, so a front-run permit cannot block the job.
    /// @param params The job's terms and deadlines.
    /// @param permitValue The value signed in the permit.
    /// @param permitDeadline The permit's deadline (unix seconds).
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    /// @return jobId The new job id.
    function createJobWithPermit(
        JobParams calldata params,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 jobId) {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), permitValue, permitDeadline, v, r, s) {}
            catch {}
        return _createJob(params);
    }

    /// @notice Cancels an open (not yet awarded) job and refunds the whole escrow.
    /// @param jobId The job.
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage job = _requireStatus(jobId, Status.Open);
        if (msg.sender != job.requester) revert JobMarket__NotRequester();
        job.status = Status.Cancelled;
        uint256 refund = _escrow(job);
        emit JobCancelled(jobId, refund);
        _pay(job.requester, refund);
    }

    /// @notice Awards an open job to a provider's signed bid and locks the provider's collateral.
    /// @param jobId The job.
    /// @param provider The bidder: the EIP-712 signer of the bid (an EOA, or a contract wallet via
    /// ERC-1271); must be eligible in the registry.
    /// @param pricePerFuel The bid price; at most the job's `maxPricePerFuel`.
    /// @param expiry Unix seconds after which the bid is void.
    /// @param signature The provider's EIP-712 signature over Bid(jobId, provider, pricePerFuel, expiry).
    function award(uint256 jobId, address provider, uint256 pricePerFuel, uint64 expiry, bytes calldata signature)
        external
        nonReentrant
    {
        Job storage job = _requireStatus(jobId, Status.Open);
        if (msg.sender != job.requester) revert JobMarket__NotRequester();
        if (block.timestamp > job.awardDeadline) revert JobMarket__DeadlinePassed(job.awardDeadline);
        _assign(jobId, job, provider, pricePerFuel, expiry, signature);
    }

    /// @notice Replaces an awarded provider that missed its commit or reveal deadline with a new
    /// signed bid: the old provider's collateral is slashed to the requester and the job restarts
    /// at Awarded with a fresh commit deadline. The escrow stays.
    /// @param jobId The job.
    /// @param provider The new bidder (not the provider that missed).
    /// @param pricePerFuel The new bid price; at most the job's `maxPricePerFuel`.
    /// @param expiry The new bid's expiry.
    /// @param signature The new provider's EIP-712 bid signature.
    function reaward(uint256 jobId, address provider, uint256 pricePerFuel, uint64 expiry, bytes calldata signature)
        external
        nonReentrant
    {
        (Job storage job, Assignment storage slot, Status status) = _requireMissed(jobId);
        if (msg.sender != job.requester) revert JobMarket__NotRequester();
        if (job.held) revert JobMarket__OnHold(jobId);
        address previous = slot.provider;
        if (provider == previous) revert JobMarket__SameProvider(provider);
        uint256 slashed = _slashMissed(jobId, slot, status);
        delete _assignments[jobId][0];
        emit ProviderReplaced(jobId, previous, slashed);
        _assign(jobId, job, provider, pricePerFuel, expiry, signature);
        _pay(job.requester, slashed);
    }

    // ---------------------------------------------------------------- provider

    /// @notice The awarded provider commits to its result before revealing it.
    /// @param jobId The job.
    /// @param commitment keccak256(abi.encode(resultHash, fuelUsed, salt, provider)).
    function commitResult(uint256 jobId, bytes32 commitment) external {
        Job storage job = _requireStatus(jobId, Status.Awarded);
        Assignment storage slot = _assignments[jobId][0];
        if (msg.sender != slot.provider) revert JobMarket__NotProvider();
        if (block.timestamp > slot.deadline) revert JobMarket__DeadlinePassed(slot.deadline);
        if (commitment == bytes32(0)) revert JobMarket__EmptyCommitment();
        uint64 deadline = uint64(block.timestamp + job.revealWindow);
        if (job.held) {
            // A gated job may have to wait for others before revealing: its reveal deadline is
            // no earlier than the floor its gate set.
            uint64 floor = _revealGates[jobId].floor;
            if (floor > deadline) deadline = floor;
        }
        job.status = Status.Committed;
        slot.commitment = commitment;
        slot.deadline = uint48(deadline);
        emit ResultCommitted(jobId, msg.sender, commitment, deadline);
    }

    /// @notice The provider opens its commitment: the result hash and the fuel it used.
    /// @param jobId The job.
    /// @param resultHash sha2-256 digest of the result receipt.
    /// @param fuelUsed Metered fuel, at most the job's `maxFuel`; the billing unit.
    /// @param salt The secret salt used in the commitment.
    function revealResult(uint256 jobId, bytes32 resultHash, uint64 fuelUsed, bytes32 salt) external {
        Job storage job = _requireStatus(jobId, Status.Committed);
        Assignment storage slot = _assignments[jobId][0];
        if (msg.sender != slot.provider) revert JobMarket__NotProvider();
        if (block.timestamp > slot.deadline) revert JobMarket__DeadlinePassed(slot.deadline);
        if (fuelUsed > job.maxFuel) revert JobMarket__FuelAboveMax(fuelUsed, job.maxFuel);
        if (job.held && !_revealAllowed(jobId)) revert JobMarket__RevealBarred(jobId);
        if (keccak256(abi.encode(resultHash, fuelUsed, salt, msg.sender)) != slot.commitment) {
            revert JobMarket__CommitmentMismatch();
        }
        job.status = Status.Revealed;
        slot.resultHash = resultHash;
        slot.fuelUsed = fuelUsed;
        slot.revealedAt = uint48(block.timestamp);
        emit ResultRevealed(jobId, msg.sender, resultHash, fuelUsed);
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Settles a revealed job: pays the provider `fuelUsed * pricePerFuel` less the fee,
    /// sends the fee to the treasury, refunds the rest of the escrow and releases the collateral.
    /// @dev The requester may finalize at any time after the reveal; anyone may once the challenge
    /// window has passed, so a provider is paid even if the requester disappears.
    /// @param jobId The job.
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _requireStatus(jobId, Status.Revealed);
        if (job.held) revert JobMarket__OnHold(jobId);
        Assignment storage slot = _assignments[jobId][0];
        if (msg.sender != job.requester) {
            uint256 endsAt = uint256(slot.revealedAt) + challengeWindow;
            if (block.timestamp < endsAt) revert JobMarket__ChallengeWindowOpen(endsAt);
        }
        job.status = Status.Finalized;
        uint64 fuelUsed = slot.fuelUsed;
        (uint256 paid, uint256 fee, uint256 refunded) = _split(job, slot, fuelUsed);
        address provider = slot.provider;
        emit JobFinalized(jobId, provider, paid, fee, refunded);
        registry.release(provider, slot.collateral, fuelUsed);
        _settle(job.requester, provider, paid, fee, refunded);
    }

    /// @notice Closes a job whose current deadline passed. Callable by anyone.
    /// @dev Open past `awardDeadline`: full refund. Awarded past the commit deadline or Committed
    /// past the reveal deadline: full refund, and the provider's collateral is slashed to the
    /// requester (a fault on the provider's record).
    /// @param jobId The job.
    function reclaimExpired(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.Open) {
            if (block.timestamp <= job.awardDeadline) revert JobMarket__NotExpired(job.awardDeadline);
            job.status = Status.Expired;
            uint256 refund = _escrow(job);
            emit JobExpired(jobId, address(0), refund, 0);
            _pay(job.requester, refund);
            return;
        }
        (, Assignment storage slot,) = _requireMissed(jobId);
        job.status = Status.Expired;
        uint256 slashed = _slashMissed(jobId, slot, status);
        uint256 refunded = _escrow(job);
        emit JobExpired(jobId, slot.provider, refunded, slashed);
        _pay(job.requester, refunded + slashed);
    }

    /// @notice Pays the caller what transfers to it failed before.
    function claim() external nonReentrant {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert JobMarket__NothingOwed();
        owed[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- verifiers

    /// @notice Puts an awarded, committed or revealed job on hold for the calling verification
    /// contract: {finalize} and {reaward} refuse it from now on and the verifier settles it with
    /// {settleByVerifier}. A missed commit or reveal still expires through {reclaimExpired}.
    /// @dev Only VERIFIER_ROLE; the verifier checks who asked for verification (the requester for
    /// replication and audits, a bonded challenger). A revealed job can only be held within its
    /// challenge window.
    /// @param jobId The job.
    function holdForVerification(uint256 jobId) external onlyRole(VERIFIER_ROLE) {
        _hold(jobId);
    }

    /// @notice Holds a job like {holdForVerification} and makes the caller its reveal gate: its
    /// reveal waits for {IRevealGate-mayReveal} (replicas reveal only once all have committed),
    /// and its reveal deadline, set at the commit, is at least `revealFloor`, so the wait costs
    /// its provider nothing.
    /// @dev Only VERIFIER_ROLE; the caller must implement {IRevealGate}. Only before the commit.
    /// @param jobId The job (Awarded).
    /// @param revealFloor Least reveal deadline (unix seconds; 0: none).
    function holdGated(uint256 jobId, uint64 revealFloor) external onlyRole(VERIFIER_ROLE) {
        Job storage job = _hold(jobId);
        if (job.status != Status.Awarded) revert JobMarket__InvalidStatus(jobId, job.status);
        _revealGates[jobId] = RevealGate({gate: msg.sender, floor: revealFloor});
    }

    /// @notice Whether the job's provider may reveal now: always, unless the verification
    /// contract holding the job bars it (replicas wait until every replica has committed).
    /// @param jobId The job.
    function revealOpen(uint256 jobId) external view returns (bool) {
        Job storage job = _jobs[jobId];
        if (job.status == Status.None) revert JobMarket__JobNotFound(jobId);
        return !job.held || _revealAllowed(jobId);
    }

    /// @notice A job's status and the deadline of its current phase (commit while Awarded, reveal
    /// while Committed): the two words a verifier reads to order reveals, without {getJob}'s cost.
    /// @param jobId The job.
    function phaseOf(uint256 jobId) external view returns (Status status, uint64 deadline) {
        status = _jobs[jobId].status;
        deadline = _assignments[jobId][0].deadline;
    }

    /// @notice Lets an authorized verification contract settle an awarded, committed or revealed
    /// job: pay `fuelToPay * pricePerFuel` (less the fee), refund the rest, and either release the
    /// collateral or, if the provider is at fault, slash it to the verifier (which shares it out).
    /// @dev Only VERIFIER_ROLE. The hook later verification modes (replicated, optimistic, audit)
    /// settle disputes through; it never leaves funds locked.
    /// @param jobId The job.
    /// @param fuelToPay Fuel to bill, at most `maxFuel`.
    /// @param providerAtFault Slash the provider's collateral and record a fault.
    /// @param reason Slash reason / verdict code, kept in the events.
    /// @param evidence Facts behind the verdict, kept in the registry's {Slashed} event.
    function settleByVerifier(
        uint256 jobId,
        uint64 fuelToPay,
        bool providerAtFault,
        bytes32 reason,
        bytes calldata evidence
    ) external nonReentrant onlyRole(VERIFIER_ROLE) {
        Job storage job = _requireSettleable(jobId);
        if (fuelToPay > job.maxFuel) revert JobMarket__FuelAboveMax(fuelToPay, job.maxFuel);
        Assignment storage slot = _assignments[jobId][0];
        job.status = Status.Finalized;
        uint256 slashed;
        if (providerAtFault) slashed = registry.slash(slot.provider, slot.collateral, reason, evidence);
        else registry.release(slot.provider, slot.collateral, fuelToPay);
        _settleVerified(jobId, job, slot, fuelToPay, slashed, reason);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the protocol fee and where it goes. Applies to jobs created afterwards.
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param treasury_ Fee recipient (required when `feeBps_` > 0).
    /// @param feeBps_ Fee in basis points of each provider payment, at most MAX_FEE_BPS.
    function setFee(address treasury_, uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(treasury_, feeBps_);
    }

    /// @notice Sets the collateral locked per award: max(minCollateral, price x maxFuel x bps / 10 000).
    /// @dev Only DEFAULT_ADMIN_ROLE. Applies to awards made afterwards.
    /// @param minCollateral_ Least collateral per job.
    /// @param collateralBps_ Rate in basis points, at most MAX_COLLATERAL_BPS.
    function setCollateralPolicy(uint256 minCollateral_, uint16 collateralBps_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setCollateralPolicy(minCollateral_, collateralBps_);
    }

    // ---------------------------------------------------------------- views

    /// @notice A job and its assignment (status None and zeros if it does not exist).
    /// @param jobId The job.
    function getJob(uint256 jobId) external view returns (JobView memory v) {
        Job memory job = _jobs[jobId];
        Assignment memory slot = _assignments[jobId][0];
        v.requester = job.requester;
        v.status = job.status;
        v.feeBps = job.feeBps;
        v.commitWindow = job.commitWindow;
        v.revealWindow = job.revealWindow;
        v.specHash = job.specHash;
        v.maxPricePerFuel = job.maxPricePerFuel;
        v.maxFuel = job.maxFuel;
        v.bidDeadline = job.bidDeadline;
        v.awardDeadline = job.awardDeadline;
        v.escrow = uint256(job.maxPricePerFuel) * job.maxFuel;
        v.provider = slot.provider;
        v.pricePerFuel = slot.pricePerFuel;
        v.collateral = slot.collateral;
        v.deadline = job.status == Status.Open ? job.awardDeadline : slot.deadline;
        v.commitment = slot.commitment;
        v.resultHash = slot.resultHash;
        v.fuelUsed = slot.fuelUsed;
        v.revealedAt = slot.revealedAt;
        v.held = job.held;
    }

    /// @notice Collateral an award at `pricePerFuel` for `maxFuel` fuel would lock now.
    /// @param pricePerFuel The bid price.
    /// @param maxFuel The job's fuel limit.
    function collateralFor(uint256 pricePerFuel, uint64 maxFuel) public view returns (uint256) {
        uint256 proportional = (pricePerFuel * maxFuel * collateralBps) / 10_000;
        uint256 collateral = proportional > minCollateral ? proportional : minCollateral;
        return collateral > type(uint96).max ? type(uint96).max : collateral;
    }

    /// @notice The EIP-712 digest a provider signs for a bid on this market.
    /// @param jobId The job the bid is for.
    /// @param provider The bidder.
    /// @param pricePerFuel The price.
    /// @param expiry When the bid lapses.
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

    // ---------------------------------------------------------------- internals

    function _createJob(JobParams calldata params) private returns (uint256 jobId) {
        if (params.maxPricePerFuel == 0 || params.maxFuel == 0 || params.maxPricePerFuel > type(uint96).max) {
            revert JobMarket__InvalidParams();
        }
        if (
            params.awardDeadline <= block.timestamp || params.bidDeadline > params.awardDeadline
                || params.awardDeadline > type(uint48).max || params.commitWindow == 0 || params.revealWindow == 0
        ) revert JobMarket__InvalidDeadlines();
        uint256 escrow = params.maxPricePerFuel * params.maxFuel;
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.status = Status.Open;
        job.feeBps = feeBps;
        job.commitWindow = params.commitWindow;
        job.revealWindow = params.revealWindow;
        job.maxPricePerFuel = uint96(params.maxPricePerFuel);
        job.maxFuel = params.maxFuel;
        job.bidDeadline = uint48(params.bidDeadline);
        job.awardDeadline = uint48(params.awardDeadline);
        job.specHash = params.specHash;
        emit JobCreated(
            jobId,
            msg.sender,
            params.specHash,
            params.maxPricePerFuel,
            params.maxFuel,
            escrow,
            params.bidDeadline,
            params.awardDeadline
        );
        token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @dev Checks a signed bid and makes `provider` the job's assignee (status Awarded).
    function _assign(
        uint256 jobId,
        Job storage job,
        address provider,
        uint256 pricePerFuel,
        uint64 expiry,
        bytes calldata signature
    ) private {
        if (expiry < block.timestamp) revert JobMarket__BidExpired(expiry);
        if (pricePerFuel > job.maxPricePerFuel) revert JobMarket__PriceAboveMax(pricePerFuel, job.maxPricePerFuel);
        if (!SignatureChecker.isValidSignatureNowCalldata(
                provider, bidDigest(jobId, provider, pricePerFuel, expiry), signature
            )) revert JobMarket__InvalidBidSignature();
        uint256 collateral = collateralFor(pricePerFuel, job.maxFuel);
        uint64 deadline = uint64(block.timestamp + job.commitWindow);
        job.status = Status.Awarded;
        Assignment storage slot = _assignments[jobId][0];
        slot.provider = provider;
        slot.deadline = uint48(deadline);
        slot.pricePerFuel = uint96(pricePerFuel);
        slot.collateral = uint96(collateral);
        emit JobAwarded(jobId, provider, pricePerFuel, collateral, deadline);
        // Reverts unless the provider is staked, not jailed and has the collateral free.
        registry.lock(provider, collateral);
    }

    function _hold(uint256 jobId) private returns (Job storage job) {
        job = _requireSettleable(jobId);
        if (job.status == Status.Revealed) {
            // Once the challenge window is over the result stands: it can no longer be held.
            uint256 endsAt = uint256(_assignments[jobId][0].revealedAt) + challengeWindow;
            if (block.timestamp >= endsAt) revert JobMarket__DeadlinePassed(uint64(endsAt));
        }
        job.held = true;
        emit JobHeld(jobId, msg.sender);
    }

    /// @dev A held job's reveal is allowed unless its gate (if any) bars it.
    function _revealAllowed(uint256 jobId) private view returns (bool) {
        address gate = _revealGates[jobId].gate;
        return gate == address(0) || IRevealGate(gate).mayReveal(jobId);
    }

    /// @dev The job must be Awarded or Committed with its deadline passed.
    function _requireMissed(uint256 jobId)
        private
        view
        returns (Job storage job, Assignment storage slot, Status status)
    {
        job = _jobs[jobId];
        status = job.status;
        if (status == Status.None) revert JobMarket__JobNotFound(jobId);
        if (status != Status.Awarded && status != Status.Committed) revert JobMarket__InvalidStatus(jobId, status);
        slot = _assignments[jobId][0];
        if (block.timestamp <= slot.deadline) revert JobMarket__NotExpired(slot.deadline);
    }

    function _slashMissed(uint256 jobId, Assignment storage slot, Status status) private returns (uint256) {
        bytes32 reason = status == Status.Awarded ? SLASH_MISSED_COMMIT : SLASH_MISSED_REVEAL;
        return registry.slash(slot.provider, slot.collateral, reason, abi.encode(jobId, slot.deadline));
    }

    function _split(Job storage job, Assignment storage slot, uint64 fuel)
        private
        view
        returns (uint256 paid, uint256 fee, uint256 refunded)
    {
        paid = uint256(fuel) * slot.pricePerFuel;
        // With no treasury (fee set to 0 after the job was created) the provider keeps the fee.
        fee = treasury == address(0) ? 0 : (paid * job.feeBps) / 10_000;
        refunded = _escrow(job) - paid;
    }

    function _settle(address requester, address provider, uint256 paid, uint256 fee, uint256 refunded) private {
        _pay(provider, paid - fee);
        _pay(treasury, fee);
        _pay(requester, refunded);
    }

    function _settleVerified(
        uint256 jobId,
        Job storage job,
        Assignment storage slot,
        uint64 fuel,
        uint256 slashed,
        bytes32 reason
    ) private {
        (uint256 paid, uint256 fee, uint256 refunded) = _split(job, slot, fuel);
        emit JobSettledByVerifier(jobId, msg.sender, paid, fee, refunded, slashed, reason);
        _settle(job.requester, slot.provider, paid, fee, refunded);
        _pay(msg.sender, slashed);
    }

    function _escrow(Job storage job) private view returns (uint256) {
        return uint256(job.maxPricePerFuel) * job.maxFuel;
    }

    /// @dev Pushes a payment; if the recipient refuses it, keeps it claimable instead of reverting.
    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        if (!token.trySafeTransfer(to, amount)) {
            owed[to] += amount;
            emit PaymentDeferred(to, amount);
        }
    }

    function _setFee(address treasury_, uint16 feeBps_) private {
        if (feeBps_ > MAX_FEE_BPS) revert JobMarket__FeeTooHigh(feeBps_);
        if (feeBps_ > 0 && treasury_ == address(0)) revert JobMarket__ZeroAddress();
        treasury = treasury_;
        feeBps = feeBps_;
        emit FeeSet(treasury_, feeBps_);
    }

    function _setCollateralPolicy(uint256 minCollateral_, uint16 collateralBps_) private {
        if (collateralBps_ > MAX_COLLATERAL_BPS) revert JobMarket__CollateralTooHigh(collateralBps_);
        minCollateral = minCollateral_;
        collateralBps = collateralBps_;
        emit CollateralPolicySet(minCollateral_, collateralBps_);
    }

    /// @dev The job must be Awarded, Committed or Revealed (a verifier may hold or settle it).
    function _requireSettleable(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert JobMarket__JobNotFound(jobId);
        if (status != Status.Awarded && status != Status.Committed && status != Status.Revealed) {
            revert JobMarket__InvalidStatus(jobId, status);
        }
    }

    function _requireStatus(uint256 jobId, Status expected) private view returns (Job storage job) {
        job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert JobMarket__JobNotFound(jobId);
        if (status != expected) revert JobMarket__InvalidStatus(jobId, status);
    }
}
