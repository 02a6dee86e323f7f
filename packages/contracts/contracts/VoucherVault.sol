// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title VoucherVault
/// @notice Batched micro-settlement. A requester escrows tokens per provider (or keeps them
/// unassigned in the vault), pays for jobs off-chain with EIP-712 cumulative vouchers, and the
/// provider redeems many vouchers (from many requesters) in one transaction. Per (requester,
/// provider) one `collected` counter records what was paid, so a voucher pays only
/// `cumulativeAmount - collected`: replayed, older or reordered vouchers pay nothing.
/// @dev Money paths:
///   deposit / depositWithPermit        wallet     -> balance[requester][provider or 0]
///   assign                             unassigned -> balance[requester][provider]
///   startThaw, thawDelay, withdraw     balance    -> requester (announced: ThawStarted, thawOf)
///   redeem (provider)                  balance    -> provider, collected += paid
///   claim (provider, signed Award)     balance    -> claim lock
///   holdClaim (verifier, for the requester) freezes the lock (no money moves)
///   finalizeClaim / settleClaim(pay)   claim lock -> provider, collected += amount
///   settleClaim(reject) / expireDispute / a voucher already covered the job: claim lock -> balance
/// The vault always holds exactly the sum of balances plus open claim locks. Account 0 of a
/// requester is its unassigned balance: vouchers and claims never draw from it.
contract VoucherVault is EIP712, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice May settle a disputed claim (pay or reject): the verification side.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");

    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address requester,address provider,uint64 paidThroughSequence,uint256 cumulativeAmount,bytes32 jobsRoot)"
    );
    bytes32 public constant AWARD_TYPEHASH = keccak256(
        "Award(uint256 jobId,address requester,address provider,uint64 sequence,uint256 pricePerFuel,uint64 maxFuel,bytes32 specHash,uint64 resultDeadline,uint64 claimDeadline)"
    );

    /// @notice A signing key that is not (or no longer) revoked.
    uint64 private constant ACTIVE = type(uint64).max;

    /// @notice Delays of the vault, fixed at deployment.
    struct Config {
        /// Seconds between announcing a withdrawal (startThaw) and making it.
        uint64 thawDelay;
        /// Seconds between revoking a signing key and the revocation taking effect.
        uint64 signerRevokeDelay;
        /// Seconds a requester has to dispute a claim.
        uint64 claimWindow;
        /// Seconds a verifier has to settle a disputed claim before anyone can return it to escrow.
        uint64 disputeTimeout;
    }

    /// @notice A cumulative payment from a requester to a provider, signed by the requester or one
    /// of its signing keys. `cumulativeAmount` is everything owed for jobs up to
    /// `paidThroughSequence`; `jobsRoot` commits to the jobs it covers (off-chain audit trail).
    struct Voucher {
        address requester;
        address provider;
        uint64 paidThroughSequence;
        uint256 cumulativeAmount;
        bytes32 jobsRoot;
    }

    /// @notice One job's terms, signed by the requester when it hands the job to the provider.
    struct Award {
        /// The job's id in the market (voucher job ids are at and above 2^255, never a JobMarket
        /// id): the result receipt names it, so a referee re-executes exactly the awarded job.
        uint256 jobId;
        address requester;
        address provider;
        /// Per (requester, provider) job number, from 1.
        uint64 sequence;
        uint256 pricePerFuel;
        uint64 maxFuel;
        bytes32 specHash;
        /// When the provider must deliver the result off-chain (informative on-chain).
        uint64 resultDeadline;
        /// Last moment the provider may claim this job on-chain.
        uint64 claimDeadline;
    }

    /// @notice One (requester, provider) pair, or a requester's unassigned balance (provider 0).
    struct Channel {
        uint128 balance;
        /// Paid to the provider so far, by vouchers and claims.
        uint128 collected;
        /// Highest sequence a redeemed voucher covered; claims must be above it.
        uint64 paidThrough;
        /// When the announced withdrawal may be made (0: none).
        uint64 thawReadyAt;
        uint128 thawAmount;
    }

    enum ClaimStatus {
        None,
        Pending,
        Disputed,
        Paid,
        Rejected
    }

    /// @notice A single-job claim in its challenge window, dispute or settled.
    struct Claim {
        address requester;
        /// End of the challenge window while Pending; end of the verifier's time while Disputed.
        uint64 deadline;
        ClaimStatus status;
        address provider;
        uint64 sequence;
        uint128 amount;
        /// Fuel the provider billed (amount = fuelUsed x the award's price).
        uint64 fuelUsed;
        /// The award's fuel limit, which a re-execution must run under.
        uint64 maxFuel;
        /// The awarded job (from the signed award), which a re-execution must run as.
        uint256 jobId;
        bytes32 specHash;
        bytes32 resultHash;
    }

    IERC20 public immutable token;
    uint64 public immutable thawDelay;
    uint64 public immutable signerRevokeDelay;
    uint64 public immutable claimWindow;
    uint64 public immutable disputeTimeout;

    mapping(address requester => mapping(address provider => Channel)) private _channels;
    /// @dev 0: not a signer; ACTIVE: a signer; otherwise the time its revocation takes effect.
    mapping(address requester => mapping(address signer => uint64)) private _signers;
    mapping(bytes32 claimId => Claim) private _claims;

    event Deposited(address indexed requester, address indexed provider, uint256 amount);
    event Assigned(address indexed requester, address indexed provider, uint256 amount);
    event ThawStarted(address indexed requester, address indexed provider, uint256 amount, uint64 readyAt);
    event ThawCancelled(address indexed requester, address indexed provider);
    event Withdrawn(address indexed requester, address indexed provider, uint256 amount);
    event SignerAuthorized(address indexed requester, address indexed signer);
    event SignerRevoked(address indexed requester, address indexed signer, uint64 effectiveAt);
    event VoucherRedeemed(
        address indexed requester, address indexed provider, uint64 paidThroughSequence, uint256 cumulativeAmount, uint256 paid
    );
    event ClaimFiled(
        bytes32 indexed claimId,
        address indexed requester,
        address indexed provider,
        uint64 sequence,
        uint256 jobId,
        uint256 amount,
        bytes32 specHash,
        bytes32 resultHash,
        uint64 challengeEnds
    );
    event ClaimDisputed(bytes32 indexed claimId, uint64 settleBy);
    event ClaimSettled(bytes32 indexed claimId, bool paid, uint256 amount);

    error Vault__ZeroAddress();
    error Vault__ZeroAmount();
    error Vault__InsufficientBalance(uint256 available, uint256 needed);
    error Vault__NoThaw();
    error Vault__ThawNotOver(uint64 readyAt);
    error Vault__LengthMismatch();
    error Vault__NotProvider();
    error Vault__NotRequester();
    error Vault__InvalidSignature();
    error Vault__SignerRevoked(address signer, uint64 revokedAt);
    error Vault__NotSigner(address signer);
    error Vault__NothingToRedeem();
    error Vault__ClaimDeadlinePassed(uint64 claimDeadline);
    error Vault__FuelAboveMax(uint64 fuelUsed, uint64 maxFuel);
    error Vault__AlreadyCovered(uint64 sequence, uint64 paidThrough);
    error Vault__ClaimExists(bytes32 claimId);
    error Vault__InvalidClaimStatus(bytes32 claimId, ClaimStatus status);
    error Vault__ChallengeWindowOver(uint64 endedAt);
    error Vault__ChallengeWindowOpen(uint64 endsAt);
    error Vault__DisputeOpen(uint64 settleBy);

    /// @param token_ The payment token (ERC-20; EIP-2612 for the permit variants).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants VERIFIER_ROLE).
    /// @param config The vault's delays.
    constructor(IERC20 token_, address admin, Config memory config) EIP712("Bazaar VoucherVault", "1") {
        if (address(token_) == address(0) || admin == address(0)) revert Vault__ZeroAddress();
        token = token_;
        thawDelay = config.thawDelay;
        signerRevokeDelay = config.signerRevokeDelay;
        claimWindow = config.claimWindow;
        disputeTimeout = config.disputeTimeout;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- requester: money

    /// @notice Deposits `amount` into the caller's escrow for `provider` (or its unassigned
    /// balance when `provider` is the zero address). Needs an allowance; see {depositWithPermit}.
    /// @param provider The provider the escrow pays, or address(0) for the unassigned balance.
    /// @param amount Token base units.
    function deposit(address provider, uint256 amount) external nonReentrant {
        _deposit(provider, amount);
    }

    /// @notice Approves by EIP-2612 permit and deposits, in one transaction. A failed permit is
    /// ignored when the allowance is already there, so a front-run permit cannot block it.
    /// @param provider The provider the escrow pays, or address(0) for the unassigned balance.
    /// @param amount Token base units (also the permit value).
    /// @param permitDeadline The permit's deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function depositWithPermit(address provider, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
        _deposit(provider, amount);
    }

    /// @notice Moves `amount` of the caller's unassigned balance into its escrow for `provider`.
    /// @param provider The provider (not the zero address).
    /// @param amount Token base units.
    function assign(address provider, uint256 amount) external {
        if (provider == address(0)) revert Vault__ZeroAddress();
        if (amount == 0) revert Vault__ZeroAmount();
        Channel storage pool = _channels[msg.sender][address(0)];
        if (pool.balance < amount) revert Vault__InsufficientBalance(pool.balance, amount);
        pool.balance -= uint128(amount);
        _channels[msg.sender][provider].balance += uint128(amount);
        emit Assigned(msg.sender, provider, amount);
    }

    /// @notice Announces a withdrawal of `amount` from the caller's escrow for `provider` (or its
    /// unassigned balance), possible after `thawDelay`. Until then the escrow still pays vouchers
    /// and claims, and providers should stop accepting work. A new call replaces the thaw and
    /// restarts the delay.
    /// @param provider The provider, or address(0) for the unassigned balance.
    /// @param amount Token base units, at most the balance now.
    function startThaw(address provider, uint256 amount) external {
        if (amount == 0) revert Vault__ZeroAmount();
        Channel storage c = _channels[msg.sender][provider];
        if (c.balance < amount) revert Vault__InsufficientBalance(c.balance, amount);
        uint64 readyAt = uint64(block.timestamp) + thawDelay;
        c.thawAmount = uint128(amount);
        c.thawReadyAt = readyAt;
        emit ThawStarted(msg.sender, provider, amount, readyAt);
    }

    /// @notice Cancels the caller's announced withdrawal for `provider`.
    /// @param provider The provider, or address(0) for the unassigned balance.
    function cancelThaw(address provider) external {
        Channel storage c = _channels[msg.sender][provider];
        if (c.thawReadyAt == 0) revert Vault__NoThaw();
        c.thawAmount = 0;
        c.thawReadyAt = 0;
        emit ThawCancelled(msg.sender, provider);
    }

    /// @notice After the thaw delay, pays the caller the thawed amount (or what is left of it, if
    /// vouchers or claims took part of the escrow in the meantime).
    /// @param provider The provider, or address(0) for the unassigned balance.
    /// @return amount What was paid out.
    function withdraw(address provider) external nonReentrant returns (uint256 amount) {
        Channel storage c = _channels[msg.sender][provider];
        uint64 readyAt = c.thawReadyAt;
        if (readyAt == 0) revert Vault__NoThaw();
        if (block.timestamp < readyAt) revert Vault__ThawNotOver(readyAt);
        amount = c.thawAmount < c.balance ? c.thawAmount : c.balance;
        c.balance -= uint128(amount);
        c.thawAmount = 0;
        c.thawReadyAt = 0;
        emit Withdrawn(msg.sender, provider, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- requester: signing keys

    /// @notice Lets `signer` sign vouchers and awards for the caller, at once (also cancels a
    /// pending revocation of it).
    /// @param signer The delegated key.
    function authorizeSigner(address signer) external {
        if (signer == address(0)) revert Vault__ZeroAddress();
        _signers[msg.sender][signer] = ACTIVE;
        emit SignerAuthorized(msg.sender, signer);
    }

    /// @notice Revokes a delegated key; the revocation takes effect after `signerRevokeDelay`, so
    /// providers can redeem what it signed before. From then on its signatures are refused.
    /// @param signer The delegated key.
    function revokeSigner(address signer) external {
        if (_signers[msg.sender][signer] != ACTIVE) revert Vault__NotSigner(signer);
        uint64 effectiveAt = uint64(block.timestamp) + signerRevokeDelay;
        _signers[msg.sender][signer] = effectiveAt;
        emit SignerRevoked(msg.sender, signer, effectiveAt);
    }

    // ---------------------------------------------------------------- provider: redemption

    /// @notice Redeems vouchers addressed to the caller (one or many, from any requesters): each
    /// pays `cumulativeAmount - collected` for its pair, capped by the escrow, and the sum is paid
    /// in one transfer. A voucher at or below what was collected pays nothing.
    /// @param vouchers The vouchers; each must name the caller as provider.
    /// @param signatures One EIP-712 signature per voucher, by its requester or a live signing key.
    /// @return paid The total paid to the caller.
    function redeem(Voucher[] calldata vouchers, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint256 paid)
    {
        if (vouchers.length != signatures.length) revert Vault__LengthMismatch();
        for (uint256 i = 0; i < vouchers.length; i++) {
            Voucher calldata voucher = vouchers[i];
            if (voucher.provider != msg.sender) revert Vault__NotProvider();
            _checkSigner(voucher.requester, _hashTypedDataV4(_voucherStructHash(voucher)), signatures[i]);
            Channel storage c = _channels[voucher.requester][msg.sender];
            uint256 collected = c.collected;
            if (voucher.paidThroughSequence > c.paidThrough) c.paidThrough = voucher.paidThroughSequence;
            if (voucher.cumulativeAmount <= collected) continue;
            uint256 due = voucher.cumulativeAmount - collected;
            uint256 balance = c.balance;
            uint256 pay = due < balance ? due : balance;
            c.balance = uint128(balance - pay);
            c.collected = uint128(collected + pay);
            paid += pay;
            emit VoucherRedeemed(
                voucher.requester, msg.sender, voucher.paidThroughSequence, voucher.cumulativeAmount, pay
            );
        }
        if (paid == 0) revert Vault__NothingToRedeem();
        token.safeTransfer(msg.sender, paid);
    }

    // ---------------------------------------------------------------- fallback: single-job claims

    /// @notice Claims one job from a silent requester with its signed award and the result hash.
    /// Locks `fuelUsed * pricePerFuel` from the escrow; after `claimWindow` without a dispute it
    /// is paid by {finalizeClaim}. Only for jobs above the highest sequence a voucher covered.
    /// @param award The award the requester (or its signing key) signed.
    /// @param signature The EIP-712 signature over the award.
    /// @param fuelUsed Fuel billed, at most `award.maxFuel`.
    /// @param resultHash The result's hash (the receipt digest), for a dispute.
    /// @return claimId The claim's id, {claimIdOf}(requester, provider, sequence).
    function claim(Award calldata award, bytes calldata signature, uint64 fuelUsed, bytes32 resultHash)
        external
        nonReentrant
        returns (bytes32 claimId)
    {
        if (award.provider != msg.sender) revert Vault__NotProvider();
        if (block.timestamp > award.claimDeadline) revert Vault__ClaimDeadlinePassed(award.claimDeadline);
        if (fuelUsed > award.maxFuel) revert Vault__FuelAboveMax(fuelUsed, award.maxFuel);
        _checkSigner(award.requester, _hashTypedDataV4(_awardStructHash(award)), signature);
        Channel storage c = _channels[award.requester][msg.sender];
        if (award.sequence <= c.paidThrough) revert Vault__AlreadyCovered(award.sequence, c.paidThrough);
        claimId = claimIdOf(award.requester, msg.sender, award.sequence);
        if (_claims[claimId].status != ClaimStatus.None) revert Vault__ClaimExists(claimId);
        uint256 amount = uint256(fuelUsed) * award.pricePerFuel;
        if (amount == 0) revert Vault__ZeroAmount();
        if (c.balance < amount) revert Vault__InsufficientBalance(c.balance, amount);
        c.balance -= uint128(amount);
        uint64 ends = uint64(block.timestamp) + claimWindow;
        _claims[claimId] = Claim({
            requester: award.requester,
            deadline: ends,
            status: ClaimStatus.Pending,
            provider: msg.sender,
            sequence: award.sequence,
            amount: uint128(amount),
            fuelUsed: fuelUsed,
            maxFuel: award.maxFuel,
            jobId: award.jobId,
            specHash: award.specHash,
            resultHash: resultHash
        });
        emit ClaimFiled(
            claimId, award.requester, msg.sender, award.sequence, award.jobId, amount, award.specHash, resultHash, ends
        );
    }

    /// @notice A verifier freezes a pending claim on behalf of its requester, within the challenge
    /// window: the claim stays locked until a verifier settles it (or `disputeTimeout` passes, see
    /// {expireDispute}). Disputes go through a verifier (the VerificationCourt, which takes a bond
    /// from the requester and has referees re-execute the job) so that a requester cannot freeze
    /// an honest claim for free: there is no way for a requester to dispute the vault directly.
    /// @dev Only VERIFIER_ROLE.
    /// @param claimId The claim.
    /// @param requester The account that asked the verifier to dispute; must be the claim's requester.
    /// @return provider The claim's provider.
    /// @return amount The claimed amount.
    /// @return resultHash The claimed result.
    /// @return fuelUsed The claimed fuel.
    function holdClaim(bytes32 claimId, address requester)
        external
        onlyRole(VERIFIER_ROLE)
        returns (address provider, uint256 amount, bytes32 resultHash, uint64 fuelUsed)
    {
        Claim storage cl = _requireClaim(claimId, ClaimStatus.Pending);
        if (requester != cl.requester) revert Vault__NotRequester();
        if (block.timestamp >= cl.deadline) revert Vault__ChallengeWindowOver(cl.deadline);
        uint64 settleBy = uint64(block.timestamp) + disputeTimeout;
        cl.status = ClaimStatus.Disputed;
        cl.deadline = settleBy;
        emit ClaimDisputed(claimId, settleBy);
        return (cl.provider, cl.amount, cl.resultHash, cl.fuelUsed);
    }

    /// @notice Pays an undisputed claim once its challenge window is over (anyone may call). If a
    /// redeemed voucher has since covered the job, the voucher paid it: the lock returns to escrow.
    /// @param claimId The claim.
    function finalizeClaim(bytes32 claimId) external nonReentrant {
        Claim storage cl = _requireClaim(claimId, ClaimStatus.Pending);
        if (block.timestamp < cl.deadline) revert Vault__ChallengeWindowOpen(cl.deadline);
        _settle(claimId, cl, true);
    }

    /// @notice A verifier's verdict on a disputed claim: pay it, or reject it (the lock returns to
    /// the requester's escrow for that provider). Slashing a provider's stake for a wrong claim is
    /// the verifier's business (the VerificationCourt slashes through the ProviderRegistry).
    /// A claim that is already settled (expired by {expireDispute} while the verifier deliberated)
    /// is left as it is and `false` returned, so a late verdict cannot get stuck on it.
    /// @param claimId The claim.
    /// @param pay True when the result is correct.
    /// @return settled True when this call settled the claim.
    function settleClaim(bytes32 claimId, bool pay)
        external
        nonReentrant
        onlyRole(VERIFIER_ROLE)
        returns (bool settled)
    {
        ClaimStatus status = _claims[claimId].status;
        if (status == ClaimStatus.Paid || status == ClaimStatus.Rejected) return false;
        _settle(claimId, _requireClaim(claimId, ClaimStatus.Disputed), pay);
        return true;
    }

    /// @notice A disputed claim no verifier settled within `disputeTimeout` returns to the
    /// requester's escrow for that provider (anyone may call), so nothing stays locked.
    /// @param claimId The claim.
    function expireDispute(bytes32 claimId) external {
        Claim storage cl = _requireClaim(claimId, ClaimStatus.Disputed);
        if (block.timestamp < cl.deadline) revert Vault__DisputeOpen(cl.deadline);
        _settle(claimId, cl, false);
    }

    // ---------------------------------------------------------------- views

    /// @notice The (requester, provider) channel: balance, collected, paidThrough and the thaw.
    /// @param requester The requester.
    /// @param provider The provider, or address(0) for the unassigned balance.
    /// @return The channel.
    function channelOf(address requester, address provider) external view returns (Channel memory) {
        return _channels[requester][provider];
    }

    /// @notice The announced withdrawal of a channel (amount 0 and readyAt 0 when none).
    /// @param requester The requester.
    /// @param provider The provider, or address(0) for the unassigned balance.
    /// @return amount Announced amount.
    /// @return readyAt When it may be withdrawn.
    function thawOf(address requester, address provider) external view returns (uint256 amount, uint64 readyAt) {
        Channel storage c = _channels[requester][provider];
        return (c.thawAmount, c.thawReadyAt);
    }

    /// @notice Whether `signer` may sign for `requester` now (the requester itself always may).
    /// @param requester The requester.
    /// @param signer The key.
    /// @return True when its signatures are accepted at this block.
    function isSigner(address requester, address signer) external view returns (bool) {
        return signer == requester || block.timestamp < _signers[requester][signer];
    }

    /// @notice A claim.
    /// @param claimId The claim id.
    /// @return The claim (status None when unknown).
    function claimOf(bytes32 claimId) external view returns (Claim memory) {
        return _claims[claimId];
    }

    /// @notice The id of the claim for job `sequence` of (requester, provider).
    /// @param requester The requester.
    /// @param provider The provider.
    /// @param sequence The job's sequence number.
    /// @return The claim id.
    function claimIdOf(address requester, address provider, uint64 sequence) public pure returns (bytes32) {
        return keccak256(abi.encode(requester, provider, sequence));
    }

    /// @notice The EIP-712 digest a requester signs for a voucher.
    /// @param voucher The voucher.
    /// @return The digest.
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32) {
        return _hashTypedDataV4(_voucherStructHash(voucher));
    }

    /// @notice The EIP-712 digest a requester signs for an award.
    /// @param award The award.
    /// @return The digest.
    function awardDigest(Award calldata award) external view returns (bytes32) {
        return _hashTypedDataV4(_awardStructHash(award));
    }

    // ---------------------------------------------------------------- internals

    function _deposit(address provider, uint256 amount) private {
        if (amount == 0) revert Vault__ZeroAmount();
        _channels[msg.sender][provider].balance += amount.toUint128();
        emit Deposited(msg.sender, provider, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _settle(bytes32 claimId, Claim storage cl, bool pay) private {
        Channel storage c = _channels[cl.requester][cl.provider];
        uint256 amount = cl.amount;
        // A voucher redeemed since the claim covers the job and already paid for it.
        bool paid = pay && cl.sequence > c.paidThrough;
        cl.status = paid ? ClaimStatus.Paid : ClaimStatus.Rejected;
        if (paid) c.collected += uint128(amount);
        else c.balance += uint128(amount);
        emit ClaimSettled(claimId, paid, amount);
        if (paid) token.safeTransfer(cl.provider, amount);
    }

    function _requireClaim(bytes32 claimId, ClaimStatus status) private view returns (Claim storage cl) {
        cl = _claims[claimId];
        if (cl.status != status) revert Vault__InvalidClaimStatus(claimId, cl.status);
    }

    /// @dev Accepts the requester's own signature (ECDSA, or ERC-1271 for a contract wallet) or a
    /// delegated key's, unless that key's revocation has taken effect.
    function _checkSigner(address requester, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError) {
            if (recovered == requester) return;
            uint64 until = _signers[requester][recovered];
            if (until != 0) {
                if (block.timestamp >= until) revert Vault__SignerRevoked(recovered, until);
                return;
            }
        }
        if (requester.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(requester, digest, signature)) {
            return;
        }
        revert Vault__InvalidSignature();
    }

    function _voucherStructHash(Voucher calldata v) private pure returns (bytes32) {
        return keccak256(
            abi.encode(VOUCHER_TYPEHASH, v.requester, v.provider, v.paidThroughSequence, v.cumulativeAmount, v.jobsRoot)
        );
    }

    function _awardStructHash(Award calldata a) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                AWARD_TYPEHASH,
                a.jobId,
                a.requester,
                a.provider,
                a.sequence,
                a.pricePerFuel,
                a.maxFuel,
                a.specHash,
                a.resultDeadline,
                a.claimDeadline
            )
        );
    }
}
