// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title ComputeToken
/// @notice The Bazaar payment token (BZR, 18 decimals). Requesters escrow it for jobs and
/// providers stake it as collateral. The owner mints; on a local devnet that is the faucet.
contract ComputeToken is ERC20, ERC20Permit, Ownable {
    /// @param initialOwner The account allowed to mint.
    constructor(address initialOwner)
        ERC20("Bazaar Compute", "BZR")
        ERC20Permit("Bazaar Compute")
        Ownable(initialOwner)
    {}

    /// @notice Mints `amount` base units to `to`.
    /// @dev Only the owner. Emits {Transfer} from the zero address.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount in base units (18 decimals).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
