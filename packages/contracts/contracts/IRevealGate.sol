// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IRevealGate
/// @notice Implemented by a verification contract that holds JobMarket jobs before their reveal,
/// so it can order reveals across jobs: replicas of one spec must all commit before any of them
/// reveals, or a lazy replica could wait for another's reveal and commit a copy of it.
interface IRevealGate {
    /// @notice Whether the held job's provider may reveal now.
    function mayReveal(uint256 jobId) external view returns (bool);
}
