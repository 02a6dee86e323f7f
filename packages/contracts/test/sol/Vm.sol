// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Vm
/// @notice The few cheatcodes the Bazaar Solidity tests use, as the Hardhat 3 (EDR) test runner
/// implements them at the standard cheatcode address. Declared here rather than imported from
/// forge-std because the only npm release of forge-std (1.1.2, an unofficial repack) imports
/// `ds-test/test.sol` without shipping it, so it does not compile; fetching forge-std from GitHub
/// would break the offline `npm ci` build. Signatures match forge-std's Vm.sol.
interface Vm {
    // time and identity
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    // Tests read the clock through these, never `block.timestamp` / `block.number`: the shipped
    // pipeline (viaIR) treats those as constant for the whole transaction, so its optimizer may
    // reuse a value read before a `warp` / `roll` (a test function is one transaction). A
    // cheatcode call is opaque to it and always returns the current value.
    function getBlockTimestamp() external view returns (uint256 timestamp);
    function getBlockNumber() external view returns (uint256 height);
    function setBlockhash(uint256 blockNumber, bytes32 blockHash) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function label(address account, string calldata name) external;

    // expectations
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(address emitter) external;

    // fuzzing
    function assume(bool condition) external pure;

    // assertions (fail the test with both values and the message)
    function assertTrue(bool condition, string calldata message) external pure;
    function assertFalse(bool condition, string calldata message) external pure;
    function assertEq(uint256 left, uint256 right, string calldata message) external pure;
    function assertEq(address left, address right, string calldata message) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata message) external pure;
    function assertEq(bool left, bool right, string calldata message) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata message) external pure;
    function assertEq(string calldata left, string calldata right, string calldata message) external pure;
    function assertLe(uint256 left, uint256 right, string calldata message) external pure;
    function assertGe(uint256 left, uint256 right, string calldata message) external pure;
    function assertLt(uint256 left, uint256 right, string calldata message) external pure;
    function assertGt(uint256 left, uint256 right, string calldata message) external pure;
}

/// @dev The cheatcode contract lives at address(bytes20(uint160(uint256(keccak256("hevm cheat code"))))).
Vm constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
