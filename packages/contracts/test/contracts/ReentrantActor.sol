// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITokenReceiver} from "./HookToken.sol";

/// @title ReentrantActor (TEST ONLY)
/// @notice A contract account that plays requester or provider and attacks from inside token
/// callbacks: when armed, its `onTokenReceived` calls back into a target (e.g. the market's
/// `cancelJob` again) and records whether that succeeded. It can also refuse every payment.
/// Signs bids by ERC-1271: hashes approved by its operator are valid signatures.
contract ReentrantActor is ITokenReceiver {
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;

    address public immutable operator;
    address public attackTarget;
    bytes public attackData;
    bool public armed;
    bool public refusePayments;
    /// @notice Result of the last reentry attempt.
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryReturn;
    mapping(bytes32 hash => bool) public approvedHashes;

    error ReentrantActor__NotOperator();
    error ReentrantActor__CallFailed(bytes reason);
    error ReentrantActor__PaymentRefused();

    constructor() {
        operator = msg.sender;
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert ReentrantActor__NotOperator();
        _;
    }

    /// @notice Makes a call as this contract (approve, stake, createJob, commit, ...).
    function execute(address target, bytes calldata data) external onlyOperator returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// @notice On the next incoming transfer, call `target` with `data`.
    function arm(address target, bytes calldata data) external onlyOperator {
        attackTarget = target;
        attackData = data;
        armed = true;
        reentryAttempted = false;
        reentrySucceeded = false;
        delete reentryReturn;
    }

    /// @notice Revert on every incoming transfer (a recipient trying to block a settlement).
    function setRefusePayments(bool refuse) external onlyOperator {
        refusePayments = refuse;
    }

    /// @notice Makes `hash` a valid ERC-1271 signature of this contract.
    function approveHash(bytes32 hash) external onlyOperator {
        approvedHashes[hash] = true;
    }

    /// @inheritdoc ITokenReceiver
    function onTokenReceived(address, uint256) external {
        if (refusePayments) revert ReentrantActor__PaymentRefused();
        if (!armed) return;
        armed = false;
        reentryAttempted = true;
        (bool ok, bytes memory ret) = attackTarget.call(attackData);
        reentrySucceeded = ok;
        reentryReturn = ret;
    }

    /// @notice ERC-1271: valid when the operator approved the hash.
    function isValidSignature(bytes32 hash, bytes calldata) external view returns (bytes4) {
        return approvedHashes[hash] ? ERC1271_MAGIC : bytes4(0xffffffff);
    }
}
