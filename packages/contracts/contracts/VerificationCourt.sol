// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IRevealGate} from "./IRevealGate.sol";
import {JobMarket} from "./JobMarket.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {VoucherVault} from "./VoucherVault.sol";

/// @title VerificationCourt
/// @notice Verifies results per job and settles them through the JobMarket's verifier hook:
/// - **Replicated**: the requester links k >= 2 jobs of the same spec, awarded to distinct
///   providers, into a case. When every replica has revealed (or expired), agreeing replicas are
///   paid; any disagreement (or a lone surviving replica) becomes a dispute.
/// - **Audit**: the requester puts one job under audit with probability `auditBps`, prepaying the
///   audit fee. After the reveal a random draw, seeded by a block hash nobody knew at commit
///   time, decides whether a randomly drawn auditor re-executes; the auditor is paid whatever it
///   finds and a mismatch becomes a dispute.
/// - **Challenge** (optimistic): during a revealed job's challenge window any pool member may
///   post a bond and a different result; that is a dispute.
/// A dispute is never a vote among the parties: referees drawn at random from a bonded pool of
/// eligible providers (excluding the parties) re-execute the job and commit-reveal their results;
/// a strict majority of the drawn referees fixes the truth. Parties with another answer are
/// slashed (providers: their job collateral; challengers: their bond); the pot pays the referees
/// who found the truth, rewards a successful challenger, and the rest goes to the wronged side.
/// Without a majority (no referee answers, or they split) nobody is paid for the job and nobody is
/// slashed: the requester gets its escrow back.
/// - **Voucher claim**: the requester of a VoucherVault claim disputes it with a bond; referees
///   judge the claimed result the same way (see {disputeVoucherClaim}).
/// @dev Every waiting state ends by a deadline after which anyone can move it on, so no escrow,
/// collateral, bond or fee stays locked. Randomness is a block hash of a block mined after the
/// request (two steps: arm, then draw), so the parties cannot know the draw when they act; a block
/// producer could still bias it, which is the documented limit of this chain-native source.
contract VerificationCourt is IRevealGate, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Kind {
        None,
        Replicated,
        Audit,
        Challenge,
        /// A VoucherVault claim its requester disputes (see {disputeVoucherClaim}).
        VoucherClaim
    }

    enum CaseStatus {
        None,
        Running,
        Disputed,
        Settled
    }

    /// @notice Court rules, set by the admin.
    struct Config {
        /// Bond each pool member deposits; part of it is forfeited for a missed or wrong verdict.
        uint256 refereeBond;
        /// Bond a challenger posts; forfeited if the challenged result was right.
        uint256 challengeBond;
        /// Paid from the dispute's pot to each referee that found the truth.
        uint256 refereeFee;
        /// Prepaid by the requester per audited job: the auditor's pay if drawn, else refunded.
        uint256 auditFee;
        /// Referees drawn per dispute (fewer if the pool is small).
        uint8 referees;
        /// Seconds referees have, from the draw, to commit.
        uint32 commitWindow;
        /// Seconds referees have, after the commit window, to reveal.
        uint32 revealWindow;
        /// Seconds after a reveal during which only the requester may draw its audit.
        uint32 auditDrawGrace;
        /// Share of its bond, in basis points, a referee forfeits for a missed or wrong verdict.
        uint16 penaltyBps;
        /// Share of the slashed collateral, in basis points, a successful challenger earns.
        uint16 challengerRewardBps;
    }

    /// @notice One verified job group, as returned by {getCase}.
    struct CaseView {
        Kind kind;
        CaseStatus status;
        address requester;
        uint256[] jobIds;
        /// Audit probability in basis points (Audit cases).
        uint16 auditBps;
        /// Audit fee held for the auditor or the requester (Audit cases).
        uint256 auditFee;
        /// Block whose hash seeds the audit draw (0 until armed).
        uint64 seedBlock;
        /// The drawn auditor (Audit cases, once drawn and selected).
        address auditor;
        /// The challenger and its bond and claimed result (Challenge cases).
        address challenger;
        uint256 bond;
        bytes32 claimedResult;
        uint64 claimedFuel;
        /// The case's current dispute (0 if none).
        uint256 disputeId;
        /// The disputed VoucherVault claim (VoucherClaim cases, which have no jobIds; there
        /// `claimedResult` and `claimedFuel` are the provider's claim and `bond` the requester's).
        bytes32 claimId;
    }

    /// @notice One dispute (or an audit's single re-execution), as returned by {getDispute}.
    struct DisputeView {
        uint256 caseId;
        /// True for the auditor's check; false for a dispute between claims.
        bool audit;
        bool resolved;
        uint64 seedBlock;
        uint64 commitDeadline;
        uint64 revealDeadline;
        address[] referees;
        /// Parties excluded from the draw (providers, challenger, auditor).
        address[] parties;
    }

    struct Member {
        uint256 bond;
        uint32 index;
        uint32 duties;
        bool active;
    }

    struct Case {
        Kind kind;
        CaseStatus status;
        uint16 auditBps;
        uint64 seedBlock;
        address requester;
        address auditor;
        address challenger;
        uint64 claimedFuel;
        uint256 auditFee;
        uint256 bond;
        bytes32 claimedResult;
        uint256 disputeId;
        uint256[] jobIds;
        bytes32 claimId;
        /// The claimed amount (VoucherClaim cases): what a wrong claim costs the provider's stake.
        uint256 claimAmount;
    }

    struct Vote {
        bytes32 commitment;
        bytes32 resultHash;
        uint64 fuel;
        bool revealed;
    }

    struct Dispute {
        uint256 caseId;
        bool audit;
        bool resolved;
        uint64 seedBlock;
        uint64 commitDeadline;
        uint64 revealDeadline;
        address[] referees;
        address[] parties;
        mapping(address referee => Vote) votes;
    }

    /// @notice Most pool members (bounds the gas of a draw).
    uint256 public constant MAX_POOL = 256;
    /// @notice Most replicas in a replicated case.
    uint256 public constant MAX_REPLICAS = 9;
    /// @notice Slash reasons recorded in the registry's events.
    bytes32 public constant REASON_WRONG_RESULT = "WRONG_RESULT";
    bytes32 public constant REASON_VERIFIED = "VERIFIED";
    bytes32 public constant REASON_UNDETERMINED = "UNDETERMINED";

    /// @notice The market whose jobs this court verifies (this court needs its VERIFIER_ROLE).
    JobMarket public immutable market;
    /// @notice The provider registry (pool members must be eligible providers).
    ProviderRegistry public immutable registry;
    /// @notice The token of bonds, fees and payments.
    IERC20 public immutable token;
    /// @notice Number of cases; ids run from 1.
    uint256 public caseCount;
    /// @notice Number of disputes; ids run from 1.
    uint256 public disputeCount;
    /// @notice The case a job belongs to (0: none).
    mapping(uint256 jobId => uint256) public caseOfJob;
    /// @notice Payments a recipient refused, claimable with {claim}.
    mapping(address account => uint256) public owed;

    Config private _config;
    address[] private _pool;
    mapping(address => Member) private _members;
    mapping(uint256 => Case) private _cases;
    mapping(uint256 => Dispute) private _disputes;

    /// @notice The VoucherVault whose disputed claims this court judges (set once by the admin;
    /// the court needs the vault's VERIFIER_ROLE and the registry's SLASHER_ROLE).
    VoucherVault public voucherVault;

    event ConfigSet(Config config);
    event MemberJoined(address indexed member, uint256 bond);
    event MemberLeft(address indexed member, uint256 bondReturned);
    /// @notice A referee or auditor missed or got wrong a verdict and forfeited `penalty` of its bond.
    event MemberPenalized(address indexed member, uint256 indexed disputeId, uint256 penalty);
    event CaseOpened(uint256 indexed caseId, Kind kind, address indexed requester, uint256[] jobIds);
    /// @notice The audit draw ran: `selected` says whether the job is re-executed, by `auditor`.
    event AuditDrawn(uint256 indexed caseId, bool selected, address auditor);
    event Challenged(
        uint256 indexed caseId, uint256 indexed jobId, address indexed challenger, bytes32 resultHash, uint64 fuel
    );
    /// @notice A dispute opened; referees are drawn from the hash of block `seedBlock`.
    event DisputeOpened(uint256 indexed disputeId, uint256 indexed caseId, bool audit, uint64 seedBlock);
    /// @notice Referees were drawn (none if the pool had no eligible member apart from the parties).
    event RefereesDrawn(uint256 indexed disputeId, address[] referees, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice The seed block was too old to read its hash; the draw was armed again.
    event DrawRearmed(uint256 indexed id, uint64 seedBlock);
    event RefereeCommitted(uint256 indexed disputeId, address indexed referee, bytes32 commitment);
    event RefereeRevealed(uint256 indexed disputeId, address indexed referee, bytes32 resultHash, uint64 fuel);
    /// @notice The dispute ended; `determined` is false when no strict majority of referees agreed.
    event DisputeResolved(uint256 indexed disputeId, bool determined, bytes32 resultHash, uint64 fuel);
    /// @notice A job of a case was settled: `paid` says whether its provider was paid or slashed.
    event JobVerified(uint256 indexed caseId, uint256 indexed jobId, address indexed provider, bool paid, bytes32 reason);
    event CaseSettled(uint256 indexed caseId);
    event PaymentDeferred(address indexed account, uint256 amount);
    event Claimed(address indexed account, uint256 amount);
    event VoucherVaultSet(address indexed vault);

    error Court__ZeroAddress();
    error Court__InvalidConfig();
    error Court__NotEligible(address account);
    error Court__AlreadyMember(address account);
    error Court__NotMember(address account);
    error Court__OnDuty(address account, uint32 duties);
    error Court__PoolFull();
    error Court__NotRequester(uint256 jobId);
    error Court__InvalidReplicas();
    error Court__ReplicasDiffer(uint256 jobId);
    error Court__DuplicateProvider(address provider);
    error Court__AlreadyInCase(uint256 jobId, uint256 caseId);
    error Court__InvalidJobStatus(uint256 jobId, JobMarket.Status status);
    error Court__InvalidAuditBps(uint16 auditBps);
    error Court__CaseNotFound(uint256 caseId);
    error Court__WrongCase(uint256 caseId, CaseStatus status);
    error Court__NotReady(uint256 jobId);
    error Court__DrawTooEarly(uint64 seedBlock);
    error Court__GraceNotOver(uint256 endsAt);
    error Court__SameResult();
    error Court__DisputeNotFound(uint256 disputeId);
    error Court__AlreadyDrawn(uint256 disputeId);
    error Court__NotDrawn(uint256 disputeId);
    error Court__NotReferee(address account);
    error Court__OutsideWindow(uint64 deadline);
    error Court__EmptyCommitment();
    error Court__AlreadyCommitted();
    error Court__CommitmentMismatch();
    error Court__AlreadyResolved(uint256 disputeId);
    error Court__TooEarly(uint64 deadline);
    error Court__NothingOwed();
    error Court__NoVault();

    /// @param market_ The JobMarket (grant this court its VERIFIER_ROLE after deployment).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (court rules).
    /// @param initialConfig Initial rules.
    constructor(JobMarket market_, address admin, Config memory initialConfig) {
        if (address(market_) == address(0) || admin == address(0)) revert Court__ZeroAddress();
        market = market_;
        registry = market_.registry();
        token = market_.token();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setConfig(initialConfig);
    }

    // ---------------------------------------------------------------- pool

    /// @notice Joins the referee/auditor pool, depositing the referee bond (approve it first).
    /// @dev The caller must be an eligible provider in the registry (staked, not jailed).
    function joinPool() external nonReentrant {
        if (_members[msg.sender].active) revert Court__AlreadyMember(msg.sender);
        if (!registry.isEligible(msg.sender)) revert Court__NotEligible(msg.sender);
        if (_pool.length >= MAX_POOL) revert Court__PoolFull();
        uint256 bond = _config.refereeBond;
        _members[msg.sender] = Member({bond: bond, index: uint32(_pool.length), duties: 0, active: true});
        _pool.push(msg.sender);
        emit MemberJoined(msg.sender, bond);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice Leaves the pool and takes the bond back; not while drawn on an open dispute.
    function leavePool() external nonReentrant {
        Member storage m = _members[msg.sender];
        if (!m.active) revert Court__NotMember(msg.sender);
        if (m.duties > 0) revert Court__OnDuty(msg.sender, m.duties);
        uint256 bond = _removeMember(msg.sender);
        emit MemberLeft(msg.sender, bond);
        _pay(msg.sender, bond);
    }

    // ---------------------------------------------------------------- requester

    /// @notice Links k >= 2 awarded jobs of one spec, each with a different provider, into a
    /// replicated case and holds them: from now on only this court settles them. No replica may
    /// reveal until every replica has committed or missed its commit deadline ({mayReveal}), so
    /// none can copy another's revealed result; each reveal deadline is pushed to at least the
    /// last commit deadline plus the reveal window, so waiting costs nobody.
    /// @param jobIds The replicas (the caller must be their requester).
    /// @return caseId The new case.
    function openReplicated(uint256[] calldata jobIds) external nonReentrant returns (uint256 caseId) {
        uint256 k = jobIds.length;
        if (k < 2 || k > MAX_REPLICAS) revert Court__InvalidReplicas();
        JobMarket.JobView memory first = market.getJob(jobIds[0]);
        address[] memory providers = new address[](k);
        uint64 lastCommitDeadline;
        for (uint256 i = 0; i < k; i++) {
            JobMarket.JobView memory job = i == 0 ? first : market.getJob(jobIds[i]);
            _requireFresh(jobIds[i], job);
            // Linked before anyone commits: a commitment made outside the barrier proves nothing.
            if (job.status != JobMarket.Status.Awarded) revert Court__InvalidJobStatus(jobIds[i], job.status);
            if (job.deadline > lastCommitDeadline) lastCommitDeadline = job.deadline;
            if (job.specHash != first.specHash || job.maxFuel != first.maxFuel) revert Court__ReplicasDiffer(jobIds[i]);
            for (uint256 p = 0; p < i; p++) {
                if (providers[p] == job.provider) revert Court__DuplicateProvider(job.provider);
            }
            providers[i] = job.provider;
        }
        caseId = _openCase(Kind.Replicated, jobIds);
        uint64 revealFloor = lastCommitDeadline + first.revealWindow;
        for (uint256 i = 0; i < k; i++) {
            market.holdGated(jobIds[i], revealFloor);
        }
    }

    /// @notice Puts an awarded job under random audit with probability `auditBps` / 10 000 and
    /// holds it. Takes the audit fee from the caller (approve it first): the auditor's pay if the
    /// draw selects the job, refunded otherwise.
    /// @param jobId The job (the caller must be its requester; not yet revealed).
    /// @param auditBps Audit probability in basis points, 1..10 000.
    /// @return caseId The new case.
    function openAudit(uint256 jobId, uint16 auditBps) external nonReentrant returns (uint256 caseId) {
        if (auditBps == 0 || auditBps > 10_000) revert Court__InvalidAuditBps(auditBps);
        _requireFresh(jobId, market.getJob(jobId));
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        caseId = _openCase(Kind.Audit, ids);
        Case storage c = _cases[caseId];
        c.auditBps = auditBps;
        c.auditFee = _config.auditFee;
        market.holdForVerification(jobId);
        token.safeTransferFrom(msg.sender, address(this), c.auditFee);
    }

    /// @notice Runs an audit case's draw, in two calls: the first (after the reveal) arms it on
    /// the current block, the second (in a later block) reads that block's hash, decides whether
    /// the job is audited and, if so, draws the auditor. Only the requester during the grace
    /// period after the reveal; anyone afterwards.
    /// @param caseId The audit case.
    function drawAudit(uint256 caseId) external nonReentrant {
        Case storage c = _requireCase(caseId, CaseStatus.Running);
        if (c.kind != Kind.Audit) revert Court__WrongCase(caseId, c.status);
        uint256 jobId = c.jobIds[0];
        JobMarket.JobView memory job = market.getJob(jobId);
        if (job.status != JobMarket.Status.Revealed) revert Court__NotReady(jobId);
        if (msg.sender != c.requester) {
            uint256 endsAt = uint256(job.revealedAt) + _config.auditDrawGrace;
            if (block.timestamp < endsAt) revert Court__GraceNotOver(endsAt);
        }
        if (c.seedBlock == 0) {
            c.seedBlock = uint64(block.number);
            emit DrawRearmed(caseId, c.seedBlock);
            return;
        }
        (bool ready, uint256 seed) = _seed(c.seedBlock);
        if (!ready) revert Court__DrawTooEarly(c.seedBlock);
        if (seed == 0) {
            c.seedBlock = uint64(block.number);
            emit DrawRearmed(caseId, c.seedBlock);
            return;
        }
        uint256 roll = uint256(keccak256(abi.encode(seed, caseId, job.commitment))) % 10_000;
        if (roll >= c.auditBps) {
            emit AuditDrawn(caseId, false, address(0));
            _settleJob(caseId, jobId, job, true, job.fuelUsed, REASON_VERIFIED);
            _finishCase(caseId, c, c.requester);
            return;
        }
        address[] memory parties = new address[](1);
        parties[0] = job.provider;
        uint256 disputeId = _newDispute(caseId, true, parties);
        _draw(disputeId, seed, 1);
        Dispute storage d = _disputes[disputeId];
        c.auditor = d.referees.length == 1 ? d.referees[0] : address(0);
        emit AuditDrawn(caseId, true, c.auditor);
        if (d.referees.length == 0) {
            // Nobody to audit: the result stands unaudited and the fee goes back.
            d.resolved = true;
            emit DisputeResolved(disputeId, false, bytes32(0), 0);
            _settleJob(caseId, jobId, job, true, job.fuelUsed, REASON_VERIFIED);
            _finishCase(caseId, c, c.requester);
            return;
        }
        c.status = CaseStatus.Disputed;
        c.disputeId = disputeId;
    }

    /// @notice Settles a replicated or audit case whose jobs have all revealed or expired:
    /// agreeing replicas are paid; a disagreement, or a single surviving replica, opens a dispute.
    /// An audit case whose job expired ends with the fee refunded. Callable by anyone.
    /// @dev A replica still Awarded or Committed past its deadline must be expired first with the
    /// market's `reclaimExpired`.
    /// @param caseId The case.
    function settleCase(uint256 caseId) external nonReentrant {
        Case storage c = _requireCase(caseId, CaseStatus.Running);
        uint256 k = c.jobIds.length;
        JobMarket.JobView[] memory jobs = new JobMarket.JobView[](k);
        uint256 revealed;
        uint256 firstRevealed = type(uint256).max;
        bool agree = true;
        for (uint256 i = 0; i < k; i++) {
            jobs[i] = market.getJob(c.jobIds[i]);
            JobMarket.Status s = jobs[i].status;
            if (s == JobMarket.Status.Revealed) {
                if (firstRevealed == type(uint256).max) {
                    firstRevealed = i;
                } else if (
                    jobs[i].resultHash != jobs[firstRevealed].resultHash
                        || jobs[i].fuelUsed != jobs[firstRevealed].fuelUsed
                ) {
                    agree = false;
                }
                revealed++;
            } else if (s != JobMarket.Status.Expired) {
                revert Court__NotReady(c.jobIds[i]);
            }
        }
        if (c.kind == Kind.Audit) {
            // A revealed audit job settles through drawAudit; here only the expired one ends.
            if (revealed > 0) revert Court__WrongCase(caseId, c.status);
            _finishCase(caseId, c, c.requester);
            return;
        }
        if (c.kind != Kind.Replicated) revert Court__WrongCase(caseId, c.status);
        if (revealed >= 2 && agree) {
            for (uint256 i = 0; i < k; i++) {
                if (jobs[i].status == JobMarket.Status.Revealed) {
                    _settleJob(caseId, c.jobIds[i], jobs[i], true, jobs[i].fuelUsed, REASON_VERIFIED);
                }
            }
            _finishCase(caseId, c, address(0));
            return;
        }
        if (revealed == 0) {
            _finishCase(caseId, c, address(0));
            return;
        }
        // Every replica's provider is a party, also one whose job expired: none judges its own case.
        address[] memory parties = new address[](k);
        for (uint256 i = 0; i < k; i++) {
            parties[i] = jobs[i].provider;
        }
        c.status = CaseStatus.Disputed;
        c.disputeId = _newDispute(caseId, false, parties);
    }

    // ---------------------------------------------------------------- challengers

    /// @notice Challenges a revealed job within its challenge window with a different result,
    /// posting the challenge bond (approve it first). The job is held and referees decide.
    /// @dev Only pool members that are eligible providers; not the job's own provider.
    /// @param jobId The job.
    /// @param resultHash The result the challenger says is right.
    /// @param fuel The fuel the challenger says the job used.
    /// @return caseId The new challenge case.
    function challenge(uint256 jobId, bytes32 resultHash, uint64 fuel) external nonReentrant returns (uint256 caseId) {
        if (!_members[msg.sender].active || !registry.isEligible(msg.sender)) revert Court__NotEligible(msg.sender);
        uint256 existing = caseOfJob[jobId];
        if (existing != 0) revert Court__AlreadyInCase(jobId, existing);
        JobMarket.JobView memory job = market.getJob(jobId);
        if (job.status != JobMarket.Status.Revealed) revert Court__InvalidJobStatus(jobId, job.status);
        // Neither the provider nor the requester may challenge the job (a requester could otherwise
        // hope for no majority and get the work for free).
        if (job.provider == msg.sender || job.requester == msg.sender) revert Court__NotEligible(msg.sender);
        if (job.resultHash == resultHash && job.fuelUsed == fuel) revert Court__SameResult();
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        caseId = _openCase(Kind.Challenge, ids);
        Case storage c = _cases[caseId];
        c.requester = job.requester;
        c.challenger = msg.sender;
        c.bond = _config.challengeBond;
        c.claimedResult = resultHash;
        c.claimedFuel = fuel;
        address[] memory parties = new address[](2);
        parties[0] = job.provider;
        parties[1] = msg.sender;
        c.status = CaseStatus.Disputed;
        c.disputeId = _newDispute(caseId, false, parties);
        emit Challenged(caseId, jobId, msg.sender, resultHash, fuel);
        // Reverts once the challenge window is over.
        market.holdForVerification(jobId);
        token.safeTransferFrom(msg.sender, address(this), c.bond);
    }

    // ---------------------------------------------------------------- voucher claims

    /// @notice The requester of a VoucherVault claim disputes it within the claim's challenge
    /// window, posting the challenge bond (approve it first). The court freezes the claim in the
    /// vault (`holdClaim`) and opens a dispute: referees drawn from the pool (never the provider
    /// or the requester) re-execute the job named by the claim's specHash under its maxFuel and
    /// commit-reveal (resultHash, fuel) as in any dispute. {resolveDispute} then applies:
    /// - claim upheld (a strict majority revealed the claimed resultHash and fuel): the vault pays
    ///   the claim; the requester's bond joins the pot, which pays each right referee its fee and
    ///   the rest to the provider (for the delay), as for a lost challenge;
    /// - claim wrong (a strict majority revealed another answer): the vault returns the claim to
    ///   the requester's escrow and the registry slashes the claimed amount from the provider's
    ///   stake (what it still has, locked, free or unbonding: voucher jobs lock no per-job
    ///   collateral), recording a fault; the slash pays the right referees and the rest goes to
    ///   the requester, whose bond comes back in full;
    /// - no majority (no referee drawn, none revealed, or they split): no party is punished (only
    ///   referees that missed, as in any dispute): the claim returns to the requester's escrow
    ///   and the bond is returned.
    /// If the court has not resolved by the vault's `disputeTimeout`, anyone may `expireDispute` the
    /// claim back to escrow; the verdict then still moves the bond and the slash.
    /// @param claimId The vault claim (the caller must be its requester).
    /// @return caseId The new VoucherClaim case.
    function disputeVoucherClaim(bytes32 claimId) external nonReentrant returns (uint256 caseId) {
        VoucherVault vault = voucherVault;
        if (address(vault) == address(0)) revert Court__NoVault();
        // Reverts unless the caller is the claim's requester and the claim is Pending in its window
        // (so a claim is disputed at most once).
        (address provider, uint256 amount, bytes32 resultHash, uint64 fuelUsed) = vault.holdClaim(claimId, msg.sender);
        caseId = _openCase(Kind.VoucherClaim, new uint256[](0));
        Case storage c = _cases[caseId];
        c.claimId = claimId;
        c.claimAmount = amount;
        c.bond = _config.challengeBond;
        c.claimedResult = resultHash;
        c.claimedFuel = fuelUsed;
        address[] memory parties = new address[](2);
        parties[0] = provider;
        parties[1] = msg.sender;
        c.status = CaseStatus.Disputed;
        c.disputeId = _newDispute(caseId, false, parties);
        token.safeTransferFrom(msg.sender, address(this), c.bond);
    }

    // ---------------------------------------------------------------- referees

    /// @notice Draws a dispute's referees from the hash of its seed block (callable by anyone in
    /// any later block), excluding the parties; starts the commit window.
    /// @param disputeId The dispute.
    function drawReferees(uint256 disputeId) external nonReentrant {
        Dispute storage d = _requireDispute(disputeId);
        if (d.resolved) revert Court__AlreadyResolved(disputeId);
        if (d.commitDeadline != 0) revert Court__AlreadyDrawn(disputeId);
        (bool ready, uint256 seed) = _seed(d.seedBlock);
        if (!ready) revert Court__DrawTooEarly(d.seedBlock);
        if (seed == 0) {
            d.seedBlock = uint64(block.number);
            emit DrawRearmed(disputeId, d.seedBlock);
            return;
        }
        _draw(disputeId, seed, _config.referees);
    }

    /// @notice A drawn referee (or the auditor) commits to its re-executed result:
    /// keccak256(abi.encode(resultHash, fuel, salt, referee)), bound to the referee so it cannot be copied.
    /// @param disputeId The dispute.
    /// @param commitment The commitment.
    function commitVerdict(uint256 disputeId, bytes32 commitment) external {
        Dispute storage d = _requireDrawn(disputeId);
        Vote storage v = _requireReferee(d, msg.sender);
        if (block.timestamp > d.commitDeadline) revert Court__OutsideWindow(d.commitDeadline);
        if (commitment == bytes32(0)) revert Court__EmptyCommitment();
        if (v.commitment != bytes32(0)) revert Court__AlreadyCommitted();
        v.commitment = commitment;
        emit RefereeCommitted(disputeId, msg.sender, commitment);
    }

    /// @notice A referee opens its commitment, after the commit window and before the reveal deadline.
    /// @param disputeId The dispute.
    /// @param resultHash The result the referee computed.
    /// @param fuel The fuel the referee measured.
    /// @param salt The commitment's salt.
    function revealVerdict(uint256 disputeId, bytes32 resultHash, uint64 fuel, bytes32 salt) external {
        Dispute storage d = _requireDrawn(disputeId);
        Vote storage v = _requireReferee(d, msg.sender);
        // Reveals wait for the commit window to close (or every referee to commit) so that no
        // referee can copy another's revealed answer.
        if (block.timestamp <= d.commitDeadline && !_allCommitted(d)) revert Court__TooEarly(d.commitDeadline);
        if (block.timestamp > d.revealDeadline) revert Court__OutsideWindow(d.revealDeadline);
        if (v.revealed || keccak256(abi.encode(resultHash, fuel, salt, msg.sender)) != v.commitment) {
            revert Court__CommitmentMismatch();
        }
        v.revealed = true;
        v.resultHash = resultHash;
        v.fuel = fuel;
        emit RefereeRevealed(disputeId, msg.sender, resultHash, fuel);
    }

    /// @notice Ends a dispute after its reveal deadline (or once every referee revealed) and settles
    /// the case: the majority result is the truth; wrong parties are slashed, right ones paid,
    /// referees rewarded or penalized. Callable by anyone.
    /// @param disputeId The dispute.
    function resolveDispute(uint256 disputeId) external nonReentrant {
        Dispute storage d = _requireDrawn(disputeId);
        if (block.timestamp <= d.revealDeadline && !_allRevealed(d)) revert Court__TooEarly(d.revealDeadline);
        d.resolved = true;
        (bool determined, bytes32 truth, uint64 truthFuel) = _majority(d);
        emit DisputeResolved(disputeId, determined, truth, truthFuel);
        uint256 pot = _judgeReferees(disputeId, d, determined, truth, truthFuel);
        Case storage c = _cases[d.caseId];
        if (d.audit) {
            _resolveAudit(d.caseId, c, d, pot);
        } else if (c.kind == Kind.VoucherClaim) {
            _resolveVoucherClaim(d.caseId, c, determined && truth == c.claimedResult && truthFuel == c.claimedFuel, determined, pot);
        } else {
            _resolveClaims(d.caseId, c, determined, truth, truthFuel, pot);
        }
    }

    /// @notice Pays the caller what transfers to it failed before.
    function claim() external nonReentrant {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert Court__NothingOwed();
        owed[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Replaces the court rules; applies to later cases, draws and joins.
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param newConfig The new rules.
    function setConfig(Config calldata newConfig) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setConfig(newConfig);
    }

    /// @notice Sets the VoucherVault whose claims this court judges; once only (open cases name
    /// their claim in this vault). The vault must use the court's token (not checked here).
    /// @dev Only DEFAULT_ADMIN_ROLE.
    /// @param vault_ The vault.
    function setVoucherVault(VoucherVault vault_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(voucherVault) != address(0)) revert Court__InvalidConfig();
        voucherVault = vault_;
        emit VoucherVaultSet(address(vault_));
    }

    // ---------------------------------------------------------------- views

    /// @notice The court rules.
    function config() external view returns (Config memory) {
        return _config;
    }

    /// @notice The pool's members, in no particular order.
    function pool() external view returns (address[] memory) {
        return _pool;
    }

    /// @notice A pool member's bond, open duties and whether it is in the pool.
    /// @param account The account.
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @notice A case (kind None if it does not exist).
    /// @param caseId The case.
    function getCase(uint256 caseId) external view returns (CaseView memory v) {
        Case storage c = _cases[caseId];
        v.kind = c.kind;
        v.status = c.status;
        v.requester = c.requester;
        v.jobIds = c.jobIds;
        v.auditBps = c.auditBps;
        v.auditFee = c.auditFee;
        v.seedBlock = c.seedBlock;
        v.auditor = c.auditor;
        v.challenger = c.challenger;
        v.bond = c.bond;
        v.claimedResult = c.claimedResult;
        v.claimedFuel = c.claimedFuel;
        v.disputeId = c.disputeId;
        v.claimId = c.claimId;
    }

    /// @notice A dispute (caseId 0 if it does not exist).
    /// @param disputeId The dispute.
    function getDispute(uint256 disputeId) external view returns (DisputeView memory v) {
        Dispute storage d = _disputes[disputeId];
        v.caseId = d.caseId;
        v.audit = d.audit;
        v.resolved = d.resolved;
        v.seedBlock = d.seedBlock;
        v.commitDeadline = d.commitDeadline;
        v.revealDeadline = d.revealDeadline;
        v.referees = d.referees;
        v.parties = d.parties;
    }

    /// @notice A referee's vote on a dispute.
    /// @param disputeId The dispute.
    /// @param referee The referee.
    function voteOf(uint256 disputeId, address referee) external view returns (Vote memory) {
        return _disputes[disputeId].votes[referee];
    }

    /// @inheritdoc IRevealGate
    /// @dev A replicated job's provider may reveal once no replica of its case is still within
    /// its commit window without having committed. Other kinds never bar a reveal.
    function mayReveal(uint256 jobId) external view returns (bool) {
        Case storage c = _cases[caseOfJob[jobId]];
        if (c.kind != Kind.Replicated) return true;
        uint256[] storage ids = c.jobIds;
        for (uint256 i = 0; i < ids.length; i++) {
            (JobMarket.Status status, uint64 deadline) = market.phaseOf(ids[i]);
            if (status == JobMarket.Status.Awarded && block.timestamp <= deadline) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- internals: cases

    function _requireFresh(uint256 jobId, JobMarket.JobView memory job) private view {
        if (job.requester != msg.sender) revert Court__NotRequester(jobId);
        if (job.status != JobMarket.Status.Awarded && job.status != JobMarket.Status.Committed) {
            revert Court__InvalidJobStatus(jobId, job.status);
        }
        uint256 existing = caseOfJob[jobId];
        if (existing != 0) revert Court__AlreadyInCase(jobId, existing);
    }

    function _openCase(Kind kind, uint256[] memory jobIds) private returns (uint256 caseId) {
        caseId = ++caseCount;
        Case storage c = _cases[caseId];
        c.kind = kind;
        c.status = CaseStatus.Running;
        c.requester = msg.sender;
        c.jobIds = jobIds;
        for (uint256 i = 0; i < jobIds.length; i++) {
            caseOfJob[jobIds[i]] = caseId;
        }
        emit CaseOpened(caseId, kind, msg.sender, jobIds);
    }

    function _requireCase(uint256 caseId, CaseStatus expected) private view returns (Case storage c) {
        c = _cases[caseId];
        if (c.kind == Kind.None) revert Court__CaseNotFound(caseId);
        if (c.status != expected) revert Court__WrongCase(caseId, c.status);
    }

    /// @dev Marks the case settled and returns a still-held audit fee to `feeTo`.
    function _finishCase(uint256 caseId, Case storage c, address feeTo) private {
        c.status = CaseStatus.Settled;
        uint256 fee = c.auditFee;
        c.auditFee = 0;
        emit CaseSettled(caseId);
        if (fee > 0) _pay(feeTo, fee);
    }

    /// @dev Pays (fuel x price) or slashes one job through the market, unless it already ended.
    function _settleJob(
        uint256 caseId,
        uint256 jobId,
        JobMarket.JobView memory job,
        bool paid,
        uint64 fuel,
        bytes32 reason
    ) private returns (uint256 slashed) {
        if (job.status != JobMarket.Status.Revealed) return 0;
        uint256 before = token.balanceOf(address(this));
        emit JobVerified(caseId, jobId, job.provider, paid, reason);
        market.settleByVerifier(jobId, paid ? fuel : 0, !paid && reason == REASON_WRONG_RESULT, reason, abi.encode(caseId));
        // The market sends a slashed collateral here; measure it rather than trust a return value.
        slashed = token.balanceOf(address(this)) - before;
    }

    function _resolveClaims(
        uint256 caseId,
        Case storage c,
        bool determined,
        bytes32 truth,
        uint64 truthFuel,
        uint256 pot
    ) private {
        address wronged = c.requester;
        uint256 bond = c.bond;
        c.bond = 0;
        for (uint256 i = 0; i < c.jobIds.length; i++) {
            uint256 jobId = c.jobIds[i];
            JobMarket.JobView memory job = market.getJob(jobId);
            if (!determined) {
                pot += _settleJob(caseId, jobId, job, false, 0, REASON_UNDETERMINED);
            } else if (job.resultHash == truth && job.fuelUsed == truthFuel) {
                pot += _settleJob(caseId, jobId, job, true, job.fuelUsed, REASON_VERIFIED);
                // A challenger or auditor that attacked a right result pays the provider for the delay.
                if (c.kind != Kind.Replicated) wronged = job.provider;
            } else {
                pot += _settleJob(caseId, jobId, job, false, 0, REASON_WRONG_RESULT);
            }
        }
        if (c.challenger != address(0)) {
            bool challengerRight = determined && c.claimedResult == truth && c.claimedFuel == truthFuel;
            if (!determined || challengerRight) {
                uint256 reward = challengerRight ? (pot * _config.challengerRewardBps) / 10_000 : 0;
                pot -= reward;
                _pay(c.challenger, bond + reward);
            } else {
                pot += bond;
            }
        }
        if (c.kind == Kind.Audit) {
            // The auditor stayed on duty through this dispute; a wrong finding costs part of its bond.
            Member storage m = _members[c.auditor];
            m.duties -= 1;
            if (determined && (c.claimedResult != truth || c.claimedFuel != truthFuel)) {
                uint256 penalty = (m.bond * _config.penaltyBps) / 10_000;
                m.bond -= penalty;
                pot += penalty;
                emit MemberPenalized(c.auditor, c.disputeId, penalty);
            }
        }
        c.status = CaseStatus.Settled;
        emit CaseSettled(caseId);
        _payReferees(c.disputeId, pot, wronged);
    }

    function _resolveAudit(uint256 caseId, Case storage c, Dispute storage d, uint256 pot) private {
        uint256 jobId = c.jobIds[0];
        JobMarket.JobView memory job = market.getJob(jobId);
        Vote storage v = d.votes[c.auditor];
        uint256 fee = c.auditFee;
        c.auditFee = 0;
        if (!v.revealed) {
            // The auditor did not show up: the result stands unaudited; fee and penalty to the requester.
            _settleJob(caseId, jobId, job, true, job.fuelUsed, REASON_VERIFIED);
            c.status = CaseStatus.Settled;
            emit CaseSettled(caseId);
            _pay(c.requester, fee + pot);
            return;
        }
        // The auditor is paid for its work whatever it found.
        _pay(c.auditor, fee);
        if (v.resultHash == job.resultHash && v.fuel == job.fuelUsed) {
            _settleJob(caseId, jobId, job, true, job.fuelUsed, REASON_VERIFIED);
            c.status = CaseStatus.Settled;
            emit CaseSettled(caseId);
            return;
        }
        // A mismatch is a dispute between the provider and the auditor, judged by other referees.
        // The auditor stays on duty (cannot leave the pool) until it is judged.
        c.claimedResult = v.resultHash;
        c.claimedFuel = v.fuel;
        _members[c.auditor].duties += 1;
        _pay(c.requester, pot);
        address[] memory parties = new address[](2);
        parties[0] = job.provider;
        parties[1] = c.auditor;
        c.disputeId = _newDispute(caseId, false, parties);
    }

    /// @dev Applies a voucher-claim verdict (rules in {disputeVoucherClaim}). The court must keep
    /// the registry's SLASHER_ROLE and the vault's VERIFIER_ROLE while voucher cases are open (as
    /// deployBazaar grants them); without them a resolution reverts until they are granted again.
    function _resolveVoucherClaim(uint256 caseId, Case storage c, bool upheld, bool determined, uint256 pot) private {
        address provider = _disputes[c.disputeId].parties[0];
        uint256 bond = c.bond;
        c.bond = 0;
        c.status = CaseStatus.Settled;
        address rest = c.requester;
        if (upheld) {
            pot += bond;
            bond = 0;
            rest = provider;
        } else if (determined) {
            // The registry is fixed at construction and sends exactly what it reports.
            pot += registry.slash(provider, c.claimAmount, REASON_WRONG_RESULT, abi.encode(caseId, c.claimId));
        }
        emit CaseSettled(caseId);
        // A claim the vault already expired back to escrow stays there (settleClaim returns false).
        voucherVault.settleClaim(c.claimId, upheld);
        _pay(c.requester, bond);
        _payReferees(c.disputeId, pot, rest);
    }

    // ---------------------------------------------------------------- internals: disputes

    function _newDispute(uint256 caseId, bool audit, address[] memory parties) private returns (uint256 disputeId) {
        disputeId = ++disputeCount;
        Dispute storage d = _disputes[disputeId];
        d.caseId = caseId;
        d.audit = audit;
        d.seedBlock = uint64(block.number);
        d.parties = parties;
        emit DisputeOpened(disputeId, caseId, audit, d.seedBlock);
    }

    /// @dev Draws up to `count` eligible pool members that are not parties, without replacement.
    function _draw(uint256 disputeId, uint256 seed, uint256 count) private {
        Dispute storage d = _disputes[disputeId];
        // The requester gains from slashes on its own case, so it never judges it either.
        address requester = _cases[d.caseId].requester;
        address[] memory candidates = new address[](_pool.length);
        uint256 n;
        for (uint256 i = 0; i < _pool.length; i++) {
            address member = _pool[i];
            if (member == requester || _isParty(d.parties, member) || !registry.isEligible(member)) continue;
            candidates[n++] = member;
        }
        if (count > n) count = n;
        for (uint256 i = 0; i < count; i++) {
            uint256 j = i + (uint256(keccak256(abi.encode(seed, disputeId, i))) % (n - i));
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
            d.referees.push(candidates[i]);
            _members[candidates[i]].duties += 1;
        }
        d.commitDeadline = uint64(block.timestamp + _config.commitWindow);
        d.revealDeadline = d.commitDeadline + _config.revealWindow;
        emit RefereesDrawn(disputeId, d.referees, d.commitDeadline, d.revealDeadline);
    }

    /// @dev The result a strict majority of the drawn referees revealed, if any.
    function _majority(Dispute storage d) private view returns (bool, bytes32, uint64) {
        uint256 r = d.referees.length;
        for (uint256 i = 0; i < r; i++) {
            Vote storage a = d.votes[d.referees[i]];
            if (!a.revealed) continue;
            uint256 same;
            for (uint256 j = 0; j < r; j++) {
                Vote storage b = d.votes[d.referees[j]];
                if (b.revealed && b.resultHash == a.resultHash && b.fuel == a.fuel) same++;
            }
            if (same * 2 > r) return (true, a.resultHash, a.fuel);
        }
        return (false, bytes32(0), 0);
    }

    /// @dev Frees the referees' duties and takes the penalty from those that missed or got it
    /// wrong (removing them from the pool with the rest of their bond). Returns the penalties.
    function _judgeReferees(uint256 disputeId, Dispute storage d, bool determined, bytes32 truth, uint64 truthFuel)
        private
        returns (uint256 penalties)
    {
        for (uint256 i = 0; i < d.referees.length; i++) {
            address referee = d.referees[i];
            Member storage m = _members[referee];
            m.duties -= 1;
            Vote storage v = d.votes[referee];
            bool right = v.revealed && (!determined || (v.resultHash == truth && v.fuel == truthFuel));
            // An auditor whose finding differs from the provider is judged in the follow-up dispute.
            if (right || (d.audit && v.revealed)) continue;
            uint256 penalty = (m.bond * _config.penaltyBps) / 10_000;
            m.bond -= penalty;
            penalties += penalty;
            emit MemberPenalized(referee, disputeId, penalty);
            if (m.active && m.duties == 0) {
                uint256 rest = _removeMember(referee);
                emit MemberLeft(referee, rest);
                _pay(referee, rest);
            }
        }
    }

    /// @dev Pays `refereeFee` to each referee that found the truth (pro rata if the pot is short)
    /// and the rest of the pot to `rest`.
    function _payReferees(uint256 disputeId, uint256 pot, address rest) private {
        Dispute storage d = _disputes[disputeId];
        (bool determined, bytes32 truth, uint64 truthFuel) = _majority(d);
        address[] memory winners = new address[](d.referees.length);
        uint256 n;
        if (determined) {
            for (uint256 i = 0; i < d.referees.length; i++) {
                Vote storage v = d.votes[d.referees[i]];
                if (v.revealed && v.resultHash == truth && v.fuel == truthFuel) winners[n++] = d.referees[i];
            }
        }
        uint256 each = n == 0 ? 0 : _config.refereeFee;
        if (each * n > pot) each = pot / n;
        for (uint256 i = 0; i < n; i++) {
            _pay(winners[i], each);
        }
        _pay(rest, pot - each * n);
    }

    function _requireDispute(uint256 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.caseId == 0) revert Court__DisputeNotFound(disputeId);
    }

    function _requireDrawn(uint256 disputeId) private view returns (Dispute storage d) {
        d = _requireDispute(disputeId);
        if (d.resolved) revert Court__AlreadyResolved(disputeId);
        if (d.commitDeadline == 0) revert Court__NotDrawn(disputeId);
    }

    function _requireReferee(Dispute storage d, address account) private view returns (Vote storage) {
        for (uint256 i = 0; i < d.referees.length; i++) {
            if (d.referees[i] == account) return d.votes[account];
        }
        revert Court__NotReferee(account);
    }

    function _allCommitted(Dispute storage d) private view returns (bool) {
        for (uint256 i = 0; i < d.referees.length; i++) {
            if (d.votes[d.referees[i]].commitment == bytes32(0)) return false;
        }
        return true;
    }

    function _allRevealed(Dispute storage d) private view returns (bool) {
        for (uint256 i = 0; i < d.referees.length; i++) {
            if (!d.votes[d.referees[i]].revealed) return false;
        }
        return true;
    }

    function _isParty(address[] storage parties, address account) private view returns (bool) {
        for (uint256 i = 0; i < parties.length; i++) {
            if (parties[i] == account) return true;
        }
        return false;
    }

    /// @dev The hash of `seedBlock` once a later block exists; 0 if it is too old to read.
    function _seed(uint64 seedBlock) private view returns (bool ready, uint256 seed) {
        if (block.number <= seedBlock) return (false, 0);
        return (true, uint256(blockhash(seedBlock)));
    }

    // ---------------------------------------------------------------- internals: money

    function _removeMember(address account) private returns (uint256 bond) {
        Member storage m = _members[account];
        bond = m.bond;
        uint256 index = m.index;
        address last = _pool[_pool.length - 1];
        _pool[index] = last;
        _members[last].index = uint32(index);
        _pool.pop();
        m.bond = 0;
        m.active = false;
    }

    /// @dev Pushes a payment; if the recipient refuses it, keeps it claimable instead of reverting.
    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        if (!token.trySafeTransfer(to, amount)) {
            owed[to] += amount;
            emit PaymentDeferred(to, amount);
        }
    }

    function _setConfig(Config memory config_) private {
        if (
            config_.referees == 0 || config_.commitWindow == 0 || config_.revealWindow == 0
                || config_.penaltyBps > 10_000 || config_.challengerRewardBps > 10_000
        ) revert Court__InvalidConfig();
        _config = config_;
        emit ConfigSet(config_);
    }
}
