// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ComputeToken} from "../../contracts/ComputeToken.sol";
import {BazaarTest} from "./BazaarTest.sol";
import {vm} from "./Vm.sol";

/// @notice ComputeToken: metadata, owner mint, ERC-20 transfers and allowances, EIP-2612 permit.
contract ComputeTokenTest is BazaarTest {
    function test_metadata() public view {
        vm.assertEq(token.name(), "Bazaar Compute", "name");
        vm.assertEq(token.symbol(), "BZR", "symbol");
        vm.assertEq(uint256(token.decimals()), 18, "decimals");
        vm.assertEq(token.owner(), address(this), "owner");
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = token.eip712Domain();
        vm.assertEq(name, "Bazaar Compute", "domain name");
        vm.assertEq(version, "1", "domain version");
        vm.assertEq(chainId, block.chainid, "domain chain");
        vm.assertEq(verifying, address(token), "domain contract");
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Bazaar Compute"),
                keccak256("1"),
                block.chainid,
                address(token)
            )
        );
        vm.assertEq(token.DOMAIN_SEPARATOR(), expected, "DOMAIN_SEPARATOR");
    }

    function test_mint_byOwner() public {
        uint256 supply = token.totalSupply();
        token.mint(stranger, 5 ether);
        vm.assertEq(token.balanceOf(stranger), FAUCET + 5 ether, "balance");
        vm.assertEq(token.totalSupply(), supply + 5 ether, "supply");
    }

    function test_mint_revertsForNonOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        token.mint(stranger, 1);
    }

    function test_transferOwnership_movesTheMintRight() public {
        token.transferOwnership(stranger);
        vm.assertEq(token.owner(), stranger, "new owner");
        vm.prank(stranger);
        token.mint(stranger, 1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        token.mint(stranger, 1);
    }

    function test_renounceOwnership_endsMinting() public {
        token.renounceOwnership();
        vm.assertEq(token.owner(), address(0), "no owner");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        token.mint(stranger, 1);
    }

    function test_transfer_and_transferFrom() public {
        vm.prank(stranger);
        token.transfer(provider, 3 ether);
        vm.assertEq(token.balanceOf(provider), FAUCET - MIN_STAKE + 3 ether, "received");

        vm.prank(stranger);
        token.approve(provider2, 2 ether);
        vm.assertEq(token.allowance(stranger, provider2), 2 ether, "allowance");
        vm.prank(provider2);
        token.transferFrom(stranger, provider2, 2 ether);
        vm.assertEq(token.allowance(stranger, provider2), 0, "allowance spent");
        vm.assertEq(token.balanceOf(stranger), FAUCET - 5 ether, "sender debited");
    }

    function test_transferFrom_revertsAboveAllowance() public {
        vm.prank(stranger);
        token.approve(provider2, 1 ether);
        vm.prank(provider2);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, provider2, 1 ether, 2 ether)
        );
        token.transferFrom(stranger, provider2, 2 ether);
    }

    function test_transfer_revertsAboveBalance() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, stranger, FAUCET, FAUCET + 1)
        );
        token.transfer(provider, FAUCET + 1);
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, provider, 7 ether, deadline);
        token.permit(stranger, provider, 7 ether, deadline, v, r, s);
        vm.assertEq(token.allowance(stranger, provider), 7 ether, "allowance");
        vm.assertEq(token.nonces(stranger), 1, "nonce");
    }

    function test_permit_revertsWhenExpired() public {
        uint256 deadline = vm.getBlockTimestamp() - 1;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, provider, 7 ether, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(stranger, provider, 7 ether, deadline, v, r, s);
    }

    function test_permit_revertsForAnotherSigner() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        // The stranger's permit, signed with the provider's key.
        (uint8 v, bytes32 r, bytes32 s) = signPermitAs(PROVIDER_KEY, stranger, provider2, 7 ether, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, provider, stranger));
        token.permit(stranger, provider2, 7 ether, deadline, v, r, s);
    }

    function test_permit_cannotBeReplayed() public {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(STRANGER_KEY, provider, 7 ether, deadline);
        token.permit(stranger, provider, 7 ether, deadline, v, r, s);
        // The nonce moved on, so the same signature now recovers to a different address.
        vm.expectRevert();
        token.permit(stranger, provider, 7 ether, deadline, v, r, s);
    }

    /// @dev Fuzz: mints and transfers never create or destroy tokens.
    function testFuzz_mintAndTransferConserveSupply(uint128 minted, uint128 moved) public {
        uint256 supply = token.totalSupply();
        token.mint(stranger, minted);
        uint256 amount = bound(moved, 0, uint256(minted) + FAUCET);
        vm.prank(stranger);
        token.transfer(treasury, amount);
        vm.assertEq(token.totalSupply(), supply + minted, "supply grew by the mint only");
        vm.assertEq(token.balanceOf(treasury), amount, "recipient got the amount");
        vm.assertEq(token.balanceOf(stranger), FAUCET + minted - amount, "sender paid the amount");
        assertConservation();
    }
}
