// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice Receivers that opted in to {HookToken} callbacks.
interface ITokenReceiver {
    /// @notice Called by the token after `value` tokens arrived from `from`.
    function onTokenReceived(address from, uint256 value) external;
}

/// @title HookToken (TEST ONLY)
/// @notice An ERC-777-like token: after every transfer it calls `onTokenReceived` on a receiver
/// that registered for hooks, handing control to the receiver in the middle of the sender's call.
/// Used to attack the market and registry with reentrancy and refused payments.
contract HookToken is ERC20, ERC20Permit {
    /// @notice Receivers that asked for callbacks.
    mapping(address account => bool) public hooked;

    constructor() ERC20("Hook Token", "HOOK") ERC20Permit("Hook Token") {}

    /// @notice Anyone may mint: test token.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The caller asks to be called back on every incoming transfer.
    function registerHook() external {
        hooked[msg.sender] = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hooked[to]) ITokenReceiver(to).onTokenReceived(from, value);
    }
}
